"""uvicorn's httptools protocol with a bound on the size of a request's head.

httptools has no limit of its own: it buffers a header line until the line ends, so a 16 MB
``Authorization`` header was read (and copied piece by piece) in full before the app could refuse it.
This protocol counts the bytes of each request head as they arrive and, once they pass the limit, answers
431 and closes the connection without reading the rest. The limit is uvicorn's
``h11_max_incomplete_event_size``, the bound its h11 parser applies to the same thing, which
:func:`service_common.serve.serve` sets from ``SERVER_MAX_HEADER_BYTES``.

A chunk read from the socket in which one request ends and the next one's head begins (pipelining) is not
counted, so a head may pass the limit by at most one read (256 KiB) before it is refused.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from contracts.problems import PROBLEM_MEDIA_TYPE, Problem
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

log = structlog.get_logger("server")

DEFAULT_MAX_HEAD_BYTES = 16_384


class HeadBoundedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that refuses a request head (request line and headers) over
    ``config.h11_max_incomplete_event_size`` bytes with 431 and closes the connection."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_head_bytes = config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD_BYTES
        self._head_open = True
        self._head_bytes = 0
        self._heads_completed = 0

    def data_received(self, data: bytes) -> None:
        counting = self._head_open
        heads_before = self._heads_completed
        super().data_received(data)
        # Every byte of the chunk belongs to one head only when a head was open before it, is open after it,
        # and none completed in between.
        if counting and self._head_open and self._heads_completed == heads_before:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes and not self.transport.is_closing():
                self._refuse_head()

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._head_bytes = 0
        self._heads_completed += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_open = True

    def _refuse_head(self) -> None:
        log.warning("request.head_too_large", limit_bytes=self.max_head_bytes, client=self.client)
        status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        body = msgspec.json.encode(
            Problem(
                type="about:blank",
                title=status.phrase,
                status=int(status),
                detail=f"The request line and headers together may take at most {self.max_head_bytes} bytes.",
            )
        )
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + PROBLEM_MEDIA_TYPE.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()

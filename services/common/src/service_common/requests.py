"""Request ids and one ``request.completed`` log event per request.

A pure ASGI middleware: it takes the caller's ``X-Request-ID`` when it is a short token of safe characters
(so a gateway's id follows the request across services), otherwise makes a new one; binds it and the
matched route template into structlog's context variables; echoes it in the response; and logs method,
route, status and duration when the response starts. Query strings are never logged: they can carry
search terms typed by staff.
"""

from __future__ import annotations

import itertools
import os
import re
import time

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")

log = structlog.get_logger("http")

# New request ids: a random prefix drawn once per process and a counter, as unique as uuid4().hex without
# a getrandom() system call per request (it gives up the GIL, which a busy process then waits to get back).
_REQUEST_ID_PREFIX = os.urandom(8).hex()
_request_counter = itertools.count()


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and _SAFE_REQUEST_ID.match(value):
            return value.decode("ascii")
    return f"{_REQUEST_ID_PREFIX}{next(_request_counter):016x}"


def _with_full_allow(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Headers with ``Allow`` listing every method of the matched path.

    Litestar 2.25's automatic OPTIONS handler lists only the methods of the first handler registered for
    a path (its closure keeps the route object from before the others were merged in), so a path with GET
    and POST answers ``Allow: GET, OPTIONS``. The app's method map is complete; read it instead.
    """
    handler = scope.get("route_handler")
    app = scope.get("litestar_app") or scope.get("app")
    method_map = getattr(app, "route_handler_method_map", None)
    paths = getattr(handler, "paths", None)
    if not method_map or not paths:
        return headers
    methods = set(method_map.get(next(iter(paths)), {})) | {"OPTIONS"}
    allow = ", ".join(sorted(methods)).encode("ascii")
    return [(name, value) for name, value in headers if name.lower() != b"allow"] + [(b"allow", allow)]


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` so every HTTP request gets a request id and a completion log event."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
                if scope.get("method") == "OPTIONS":
                    headers = _with_full_allow(scope, headers)
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_request_id)
        finally:
            log.info(
                "request.completed",
                method=scope.get("method"),
                route=scope.get("path_template") or "<unmatched>",
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()

    return middleware

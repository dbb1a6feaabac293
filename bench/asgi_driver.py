"""An ASGI app driven straight through its callable, for the in-process profiles (``bench.core_api_profile``,
``bench.telemetry_profile``): no HTTP server and no client library between the requests and the app, so a
profile sees the app's own work only. The lifespan runs, as under a server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
ASGI = Callable[[Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class AsgiDriver:
    """Runs an ASGI app's lifespan and sends it requests with a bearer token; each answers its status."""

    def __init__(self, app: ASGI) -> None:
        self.app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Future[None] | None = None

    async def start(self) -> None:
        scope: Message = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.ensure_future(self.app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "lifespan.startup"})
        message = await self._from_app.get()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan start-up failed: {message}")

    async def stop(self) -> None:
        await self._to_app.put({"type": "lifespan.shutdown"})
        await self._from_app.get()
        if self._task is not None:
            await self._task

    async def get(self, path: str, token: str) -> int:
        return await self._request("GET", path, token, b"", [])

    async def post(self, path: str, token: str, body: bytes) -> int:
        """``body`` is sent as JSON."""
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        return await self._request("POST", path, token, body, headers)

    async def _request(
        self, method: str, path: str, token: str, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> int:
        scope: Message = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode()), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        status = 0

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # no disconnect while the app works
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status

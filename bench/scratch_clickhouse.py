"""Throwaway ClickHouse for the benchmarks: a server started in a scratch folder removed afterwards, and a
migrated database on a server, dropped afterwards."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path

from telemetry.clickhouse.migrate import migrate
from telemetry.clickhouse.server import ServerStore

from tools.databases import ClickHouseServer, ClickHouseUnavailable


def on_scratch_clickhouse(title: str, measure: Callable[[Path, ExitStack, ClickHouseServer], str]) -> str:
    """``measure``'s report, given a scratch folder, an exit stack for what it starts and a ClickHouse server
    running in that folder; the stack is closed, the server stopped and the folder removed afterwards. The
    benchmark ``title`` is reported skipped when no ClickHouse server can start here."""
    root = Path(tempfile.mkdtemp(prefix="bench-telemetry-"))
    try:
        with ExitStack() as stack:
            server = ClickHouseServer(root / "clickhouse")
            try:
                server.start()
            except ClickHouseUnavailable as exc:
                return f"{title}: skipped, no ClickHouse server ({exc})"
            stack.callback(server.stop)
            return measure(root, stack, server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@asynccontextmanager
async def throwaway_database(
    server: ClickHouseServer, prefix: str, timeout_seconds: float
) -> AsyncIterator[tuple[str, ServerStore]]:
    """A database on ``server`` named ``prefix`` and a random suffix, migrated, and a store on it whose
    queries may take ``timeout_seconds``; dropped afterwards."""
    database = f"{prefix}_{uuid.uuid4().hex[:8]}"
    store = ServerStore(server.url, server.http_url, database, timeout_seconds)
    try:
        await migrate(store)
        yield database, store
    finally:
        await store.execute(f"DROP DATABASE IF EXISTS {database}")
        await store.close()

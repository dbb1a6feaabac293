"""``python -m telemetry.flusher``: move every spool folder's records into ClickHouse (settings as for
``python -m telemetry``; see the README).

Each request process appends to a numbered folder under ``SPOOL_DIR`` (``spool/spool.py``). This command
runs one flusher process per folder, so with ``SERVER_WORKERS`` request processes the inserts use as many
cores as the requests do. It looks for new folders every second and starts a flusher for each (a folder
left by a worker of an earlier, larger run is emptied the same way) and starts a flusher again when its
process dies. On SIGTERM each flusher keeps inserting until its request process has let go of the folder
and everything is in, for at most ``SPOOL_DRAIN_SECONDS``; what is left stays for the next start.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

import structlog
from service_common.logging import configure_logging

from telemetry.clickhouse.open import open_store
from telemetry.settings import Settings, load_settings
from telemetry.spool.flusher import Flusher
from telemetry.spool.reader import SpoolReader

log = structlog.get_logger("spool")

_SCAN_SECONDS = 1.0
_RESTART_SECONDS = 5.0
"""Least time between two starts of one folder's flusher, so a flusher that dies at once does not spin."""


def spool_folders(root: Path) -> list[Path]:
    """The numbered folders under the spool root, in number order."""
    if not root.is_dir():
        return []
    return sorted((path for path in root.iterdir() if path.is_dir() and path.name.isdigit()), key=lambda p: int(p.name))


async def flush_folder(folder: Path, settings: Settings, stop: asyncio.Event, orphaned: asyncio.Event) -> None:
    """Empty ``folder`` into ClickHouse until ``stop`` is set, then drain within the settings' bound; or,
    when ``orphaned`` is set, leave at once (the next flusher of the folder takes over)."""
    reader = SpoolReader(folder)
    reader.open()
    store = open_store(settings.clickhouse)
    flusher = Flusher(
        reader,
        store,
        flush_rows=settings.spool.flush_rows,
        flush_interval_seconds=settings.spool.flush_interval_seconds,
    )
    try:
        flusher.start()
        log.info("spool.flusher_started", folder=str(folder))
        await asyncio.wait(
            {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(orphaned.wait())},
            return_when=asyncio.FIRST_COMPLETED,
        )
        await flusher.stop(0.0 if orphaned.is_set() else settings.spool.drain_seconds)
    finally:
        await store.close()
        reader.close()


async def _stop_when_orphaned(orphaned: asyncio.Event) -> None:
    """Set ``orphaned`` once the command that started this process is gone (killed with SIGKILL, say), so
    the flusher leaves the folder to the one the command's next start brings."""
    parent = os.getppid()
    while os.getppid() == parent:  # noqa: ASYNC110 - nothing signals a process that its parent died
        await asyncio.sleep(_SCAN_SECONDS)
    log.warning("spool.flusher_orphaned")
    orphaned.set()


def _flusher_process(folder: str) -> None:
    """The body of one folder's flusher process."""
    settings = load_settings()
    configure_logging(settings.log)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        orphaned = asyncio.Event()
        watcher = loop.create_task(_stop_when_orphaned(orphaned))
        await flush_folder(Path(folder), settings, stop, orphaned)
        watcher.cancel()

    asyncio.run(run())


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log)
    if not settings.clickhouse.url:
        raise SystemExit(
            "python -m telemetry.flusher needs a ClickHouse server (CLICKHOUSE_URL); with the embedded "
            "engine the flusher runs inside telemetry (SPOOL_FLUSHER=inline)"
        )
    root = Path(settings.spool.dir)
    context = multiprocessing.get_context("spawn")
    children: dict[Path, BaseProcess] = {}
    started: dict[Path, float] = {}
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.is_alive():
                child.terminate()  # SIGTERM: the child drains, then exits

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping:
        for folder in spool_folders(root):
            child = children.get(folder)
            if child is not None and child.is_alive():
                continue
            if child is not None:
                log.error("spool.flusher_died", folder=str(folder), exitcode=child.exitcode)
                del children[folder]
            if time.monotonic() - started.get(folder, -_RESTART_SECONDS) < _RESTART_SECONDS:
                continue
            child = context.Process(target=_flusher_process, args=(str(folder),), name=f"flusher-{folder.name}")
            child.start()
            children[folder] = child
            started[folder] = time.monotonic()
        time.sleep(_SCAN_SECONDS)
    for child in children.values():
        child.join()


if __name__ == "__main__":
    main()

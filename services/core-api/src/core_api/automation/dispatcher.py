"""The automation dispatcher process: ``python -m core_api.automation.dispatcher``.

It connects as the app role (DATABASE_URL), so row-level security applies to it as to a request, and loops:
one pass of :func:`core_api.automation.dispatch.dispatch_once` and one of the evidence collection
(:func:`core_api.evidence.collect.collect_once`, docs/adherence.md), then, when neither found anything to
do, a pause of DISPATCHER_POLL_INTERVAL_SECONDS. After each pass it touches DISPATCHER_HEARTBEAT_FILE (if
set) for a liveness probe. SIGTERM or SIGINT stop it after the pass in flight; a pass cut short by kill -9
only leaves leases, which end. Several dispatchers may run at once (SKIP LOCKED claims and leases keep
them apart). See docs/automations.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import structlog
from service_common.logging import configure_logging

from core_api.automation.dispatch import dispatch_once, webhook_client
from core_api.db.pool import create_pool
from core_api.evidence.collect import collect_once, collector
from core_api.settings import Settings, load_settings

log = structlog.get_logger("automation.dispatcher")


async def run(settings: Settings, stop: asyncio.Event) -> None:
    """Dispatch until ``stop`` is set."""
    pool = create_pool(settings.database)
    heartbeat = Path(settings.dispatcher.heartbeat_file) if settings.dispatcher.heartbeat_file else None
    await pool.open(wait=False)
    log.info("dispatcher.started", poll_interval_seconds=settings.dispatcher.poll_interval_seconds)
    try:
        async with webhook_client(settings.automation) as client, collector(settings) as evidence:
            while not stop.is_set():
                try:
                    done = await dispatch_once(pool, client, settings.automation, settings.dispatcher)
                except Exception:
                    # The database is away or a statement failed: say so, wait, try again.
                    log.exception("dispatcher.pass_failed")
                    done = None
                try:
                    collected = (await collect_once(pool, evidence)).collected
                except Exception:
                    log.exception("dispatcher.evidence_pass_failed")
                    collected = 0
                if heartbeat is not None:
                    heartbeat.touch()
                idle = done is None or (done.fanned_out == 0 and done.delivered == 0 and done.failed == 0)
                if idle and collected == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), settings.dispatcher.poll_interval_seconds)
    finally:
        await pool.close()
        log.info("dispatcher.stopped")


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await run(settings, stop)


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log)
    if not settings.database.url:
        raise SystemExit("set DATABASE_URL")
    asyncio.run(_main(settings))


if __name__ == "__main__":
    main()

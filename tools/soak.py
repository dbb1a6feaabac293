"""``make soak``: the fault scenarios of tests/faults with long durations, printing what each found.

The short variants run in ``make test``; these take about 16 minutes: 1,000 session completions under
terminated backends, PostgreSQL stopped for 30 s, ClickHouse stopped for 60 s of a 5-minute ingest load,
and, each under a one-minute load, telemetry's request process (SIGTERM, kill -9), its flusher process
(kill -9), and one of two workers and of two flushers (kill -9). Exits non-zero when a scenario breaks a promise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path

from core_api.db.migrate import migrate

from tests.faults.scenarios import (
    TELEMETRY_KILLS,
    Report,
    backends_terminated_mid_transaction,
    clickhouse_stopped_during_ingest,
    postgres_stopped_under_load,
    telemetry_killed_during_ingest,
)
from tools.databases import ClickHouseServer, start_local_postgres
from tools.tokens import ensure_dev_keys, ensure_telemetry_token_keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--completions", type=int, default=1000)
    parser.add_argument("--postgres-down-seconds", type=float, default=30.0)
    parser.add_argument("--ingest-seconds", type=float, default=300.0)
    parser.add_argument("--clickhouse-down-seconds", type=float, default=60.0)
    parser.add_argument("--kill-load-seconds", type=float, default=60.0)
    parser.add_argument("--only", help="run only the scenarios whose name contains this text")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="soak-") as temp:
        root = Path(temp)
        keys = root / "keys"
        ensure_dev_keys(keys)
        ensure_telemetry_token_keys(keys)
        postgres, urls = start_local_postgres(root / "postgres")
        clickhouse = ClickHouseServer(root / "clickhouse")
        try:
            migrate(urls.owner)
            clickhouse.start()
            scenarios: list[tuple[str, Callable[[], Report]]] = [
                (
                    "postgres backends terminated",
                    lambda: backends_terminated_mid_transaction(
                        urls, keys, completions=args.completions, time_limit_seconds=args.completions * 0.6
                    ),
                ),
                (
                    "postgres stopped",
                    lambda: postgres_stopped_under_load(
                        root / "postgres-outage", keys, down_seconds=args.postgres_down_seconds
                    ),
                ),
                (
                    "clickhouse stopped",
                    lambda: clickhouse_stopped_during_ingest(
                        root / "clickhouse-outage",
                        keys,
                        load_seconds=args.ingest_seconds,
                        down_seconds=args.clickhouse_down_seconds,
                    ),
                ),
                *(
                    (
                        f"telemetry {victim} {how.name} {workers}",
                        partial(
                            telemetry_killed_during_ingest,
                            (clickhouse.url, clickhouse.http_url),
                            f"soak_{victim.replace('-', '_')}_{how.name.lower()}_{workers}",
                            root / f"spool-{victim}-{how.name.lower()}-{workers}",
                            keys,
                            how=how,
                            victim=victim,
                            workers=workers,
                            load_seconds=args.kill_load_seconds,
                        ),
                    )
                    for victim, how, workers in TELEMETRY_KILLS
                ),
            ]
            scenarios = [(name, scenario) for name, scenario in scenarios if args.only in (None, *name.split())]
            failed = 0
            for name, scenario in scenarios:
                print(f"soak: {name} ...", flush=True)
                try:
                    print(f"PASS {scenario()}", flush=True)
                except AssertionError as exc:
                    failed += 1
                    print(f"FAIL {name}: {exc}", flush=True)
                except Exception:
                    failed += 1
                    print(f"ERROR {name}:\n{traceback.format_exc()}", flush=True)
        finally:
            clickhouse.stop()
            postgres.cleanup()  # type: ignore[attr-defined]
    print(f"soak: {len(scenarios) - failed} of {len(scenarios)} scenarios passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

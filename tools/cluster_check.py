"""``make cluster-check``: telemetry on a ClickHouse cluster and core-api on a PostgreSQL primary with two
standbys (failed over), started on loopback with their own config and data folders under a temporary
folder (about 10 minutes). Each half prints its figures; the exit status is non-zero when any promise is broken.

    python -m tools.cluster_check              # both halves, ClickHouse first
    python -m tools.cluster_check clickhouse   # one half
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable

from tools.cluster import clickhouse, postgres

HALVES: dict[str, Callable[[], bool]] = {
    "clickhouse": clickhouse.main,
    "postgres": postgres.main,
}
"""Each half: runs its scenarios, prints their figures, returns whether all of them held."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("halves", nargs="*", help=f"which halves to run, of {', '.join(HALVES)} (default: all)")
    args = parser.parse_args()
    if unknown := set(args.halves) - set(HALVES):
        parser.error(f"no such half: {', '.join(sorted(unknown))}")
    failed = []
    for name in args.halves or list(HALVES):
        print(f"== {name}", flush=True)
        try:
            held = HALVES[name]()
        except Exception:
            traceback.print_exc()
            held = False
        if not held:
            failed.append(name)
    print("cluster-check: " + (f"FAILED ({', '.join(failed)})" if failed else "passed"), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

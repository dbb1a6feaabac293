"""``make bench``: run every benchmark and print its figures."""

from __future__ import annotations

from bench import (
    adherence,
    asgi_servers,
    backlog_drain,
    core_api_load,
    evidence_collect,
    ingest_curves,
    pose_decode,
    qoe,
    replay_lookup,
    telemetry_ingest,
    telemetry_profile,
)

BENCHMARKS = [
    pose_decode,
    asgi_servers,
    telemetry_ingest,
    telemetry_profile,
    ingest_curves,
    backlog_drain,
    qoe,
    replay_lookup,
    adherence,
    evidence_collect,
    core_api_load,
]


def main() -> None:
    for benchmark in BENCHMARKS:
        print(benchmark.run(), flush=True)


if __name__ == "__main__":
    main()

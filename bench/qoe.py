"""Per-view video QoE over 1,000,000 raw media events: the product's ClickHouse query vs a Python loop.

A throwaway ClickHouse server (Debian's 18.16, as the tests start it) gets one organization's 50,000
scripted views of 20 events each, inserted in columnar blocks. The target is what the telemetry service
runs: ``per_view_query`` (one aggregate per view) through the server store, result rows included. The
baseline fetches the same raw rows over the native protocol and computes the same figures per view in a
Python loop (the definitions of telemetry/media/qoe_queries.py). Both produce one figure set per view; the
benchmark checks they agree before it times them, alternating target and baseline.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clickhouse_driver import Client
from telemetry.media.qoe_queries import per_view_query

from bench.scratch_clickhouse import throwaway_database
from tools.databases import ClickHouseServer

ORG = "org_bench_qoe"
VIEWS = 50_000
EVENTS_PER_VIEW = 20
ROUNDS = 3
_COLUMNS = (
    "event",
    "session_id",
    "event_time",
    "video_load_time_ms",
    "buffering_duration_ms",
    "watched_duration_seconds",
    "bitrate",
    "reason",
)


def _views(now: datetime) -> dict[str, list[Any]]:
    """Columns of VIEWS scripted views: start, heartbeats, a stall or two, quality changes, an end."""
    rng = random.Random(7)
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "batch_id", "org_hash", "actor_hash", "session_id", "media_id", "media_type", "event", "event_time",
            "received_at", "video_load_time_ms", "buffering_duration_ms", "watched_duration_seconds", "bitrate",
            "resolution", "reason",
        )
    }  # fmt: skip
    batch = uuid.uuid4()
    for view in range(VIEWS):
        session = uuid.uuid4()
        start = now - timedelta(minutes=rng.randint(1, 600))
        stalls = rng.randint(0, 2)
        script = ["session_start"] + ["heartbeat"] * (EVENTS_PER_VIEW - 2 - 2 * stalls)
        script += ["buffering_start", "buffering_end"] * stalls + ["session_end"]
        for index, event in enumerate(script):
            columns["batch_id"].append(batch)
            columns["org_hash"].append(ORG)
            columns["actor_hash"].append(f"actor{view % 5000}")
            columns["session_id"].append(session)
            columns["media_id"].append(f"video{view % 40}")
            columns["media_type"].append("video")
            columns["event"].append(event)
            columns["event_time"].append(start + timedelta(seconds=10 * index))
            columns["received_at"].append(start + timedelta(seconds=10 * index))
            columns["video_load_time_ms"].append(rng.randint(200, 4000) if event == "session_start" else 0)
            columns["buffering_duration_ms"].append(rng.randint(100, 5000) if event == "buffering_end" else 0)
            columns["watched_duration_seconds"].append(float(10 * index) if event != "session_start" else 0.0)
            columns["bitrate"].append(rng.choice((800_000, 1_500_000, 3_000_000)) if event == "heartbeat" else 0)
            columns["resolution"].append("720p" if event == "heartbeat" else "")
            columns["reason"].append(rng.choice(("completed", "user", "error")) if event == "session_end" else "")
    return columns


def python_per_view(rows: list[tuple[Any, ...]]) -> dict[str, tuple[int, int, float, float, bool]]:
    """The per-view figures of telemetry/media/qoe_queries.py, computed row by row in Python."""
    views: dict[str, dict[str, Any]] = {}
    for event, session_id, _, load_ms, stall_ms, watched, bitrate, reason in rows:
        view = views.get(session_id)
        if view is None:
            view = views[session_id] = {"startup": 0, "stalls": 0, "stall_ms": 0, "watched": 0.0, "bitrates": [],
                                        "failed": False}  # fmt: skip
        if event == "session_start":
            view["startup"] = max(view["startup"], load_ms)
        elif event == "buffering_end":
            view["stalls"] += 1
            view["stall_ms"] += stall_ms
        elif event == "heartbeat" and bitrate > 0:
            view["bitrates"].append(bitrate)
        elif event == "session_end" and reason == "error":
            view["failed"] = True
        view["watched"] = max(view["watched"], watched)
    figures = {}
    for session_id, view in views.items():
        total = view["watched"] * 1000 + view["stall_ms"]
        rebuffer = view["stall_ms"] * 100 / total if total > 0 else 0.0
        bitrate = sum(view["bitrates"]) / len(view["bitrates"]) if view["bitrates"] else 0.0
        figures[str(session_id)] = (view["startup"], view["stalls"], round(rebuffer, 3), round(bitrate), view["failed"])
    return figures


async def _measure(server: ClickHouseServer) -> list[str]:
    async with throwaway_database(server, "qoe", 300.0) as (database, store):
        columns = _views(datetime.now(UTC))
        started = time.perf_counter()
        await store.insert("media_events", columns)
        inserted = time.perf_counter() - started
        client = Client.from_url(f"{server.url}/{database}")
        client.execute("OPTIMIZE TABLE media_events FINAL")
        query = per_view_query(ORG, 24)
        raw = f"SELECT {', '.join(_COLUMNS)} FROM media_events WHERE org_hash = '{ORG}' ORDER BY session_id, event_time"

        async def target() -> dict[str, tuple[int, int, float, float, bool]]:
            rows = await store.select(query)
            return {
                row["view_session_id"]: (
                    int(row["view_startup_time_ms"]),
                    int(row["view_rebuffer_count"]),
                    round(float(row["view_rebuffer_percent"]), 3),
                    round(float(row["view_average_bitrate"])),
                    bool(row["view_playback_failed"]),
                )
                for row in rows
            }

        def baseline() -> dict[str, tuple[int, int, float, float, bool]]:
            return python_per_view(client.execute(raw))

        ours, theirs = await target(), baseline()
        agree = sum(1 for key, value in ours.items() if theirs.get(key) == value)
        target_times, baseline_times = [], []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            await target()
            target_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            baseline()
            baseline_times.append(time.perf_counter() - started)
        ours_s, theirs_s = statistics.median(target_times), statistics.median(baseline_times)
        events = VIEWS * EVENTS_PER_VIEW
        return [
            f"per-view QoE over {events:,} media events ({VIEWS:,} views; inserted in {inserted:.1f} s)",
            f"  target   ClickHouse per_view_query (the read route)  {ours_s * 1000:9.0f} ms (median of {ROUNDS})",
            f"  baseline fetch raw rows + Python loop                 {theirs_s * 1000:9.0f} ms (median of {ROUNDS})",
            f"  ratio    {theirs_s / ours_s:.1f}x   goal: >= 10x   (figures agree for {agree:,} of {len(ours):,})",
        ]


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-qoe-") as directory:
        server = ClickHouseServer(Path(directory) / "clickhouse")
        server.start()
        try:
            return "\n".join(asyncio.run(_measure(server)))
        finally:
            server.stop()

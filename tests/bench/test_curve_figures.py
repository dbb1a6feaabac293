"""The figures the drain and cost-curve benchmarks compute from their samples."""

from __future__ import annotations

import math

from bench.backlog_drain import Chunk, Drain, Sample, drain_of, emptied_after, ingest_rate
from bench.ingest_curves import batch_sizes
from bench.telemetry_ingest import POSE_PATH, Phase


def _samples(*points: tuple[float, int | None]) -> list[Sample]:
    return [Sample(at=at, stored_rows=rows, spool_bytes=0) for at, rows in points]


def test_drain_runs_from_the_last_sample_without_new_rows_to_the_first_holding_the_target() -> None:
    # 160 rows stored before the outage (the last sample before it saw 100), back at 3.5 s.
    samples = _samples((0, 100), (1, None), (2, None), (4, 160), (5, 160), (6, 400), (7, 700), (8, 900))
    drain = drain_of(samples, restarted_at=3.5, stored_before=160, target_rows=650)
    assert drain == Drain(first_insert_after=1.5, drained_after=3.5, rows=540, seconds=2.0)
    assert drain is not None
    assert drain.rate == 270.0


def test_a_drain_that_began_before_the_first_sample_counts_from_the_restart() -> None:
    drain = drain_of(
        _samples((0, 100), (1, None), (3, 400), (4, 700)), restarted_at=2.0, stored_before=100, target_rows=700
    )
    assert drain == Drain(first_insert_after=0.0, drained_after=2.0, rows=600, seconds=2.0)


def test_no_drain_while_the_target_is_not_reached() -> None:
    samples = _samples((0, 100), (1, None), (2, 100), (3, 400))
    assert drain_of(samples, restarted_at=1.5, stored_before=100, target_rows=500) is None


def test_the_spool_is_back_to_normal_at_the_first_sample_after_the_restart_holding_its_steady_size() -> None:
    samples = [Sample(at, None, size) for at, size in ((0, 5), (1, 900), (2, 950), (3, 400), (4, 5), (5, 3))]
    assert emptied_after(samples, restarted_at=1.5, steady_bytes=5) == 2.5
    assert emptied_after(samples[:4], restarted_at=1.5, steady_bytes=5) is None


def test_ingest_rate_spreads_each_chunk_over_its_span() -> None:
    def chunk(start: float, end: float, accepted: int) -> Chunk:
        return Chunk(
            start, end, Phase("drain", POSE_PATH, accepted=accepted, failed=0, seconds=end - start, cpu_seconds=0)
        )

    chunks = [chunk(0, 10, 1000), chunk(10.5, 20.5, 2000)]
    # Half of the first chunk (500) and a quarter of the second (500) over 8 seconds, the gap included.
    assert math.isclose(ingest_rate(chunks, 5.0, 13.0), 125.0)


def test_batch_sizes_keep_what_fits_and_say_why_the_rest_shrank() -> None:
    assert batch_sizes((1, 60, 300), lambda frames: 1000 * frames, 400_000) == [(1, ""), (60, ""), (300, "")]
    shrunk = batch_sizes((60, 301), lambda frames: 1000 * frames, 50_000)
    assert shrunk[0] == (50, "60 frames exceed HTTP_MAX_BODY_BYTES (50,000 bytes)")
    assert shrunk[1][0] == 50
    assert batch_sizes((400,), lambda frames: 10 * frames, 10**9) == [
        (300, "400 frames exceed the contract's 300 a batch")
    ]

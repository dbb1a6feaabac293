"""Interleaved timing of a target and its baseline, so machine noise hits both alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    name: str
    target_seconds: float
    baseline_seconds: float

    @property
    def speedup(self) -> float:
        """How many times faster the target is than the baseline (>1: faster)."""
        return self.baseline_seconds / self.target_seconds

    def report(self, target_label: str, baseline_label: str, goal: str) -> str:
        return (
            f"{self.name}\n"
            f"  target   {target_label:<44} {self.target_seconds * 1e6:10.1f} µs (median)\n"
            f"  baseline {baseline_label:<44} {self.baseline_seconds * 1e6:10.1f} µs (median)\n"
            f"  ratio    {self.speedup:.2f}x   goal: {goal}"
        )


def compare(
    name: str,
    target: Callable[[], object],
    baseline: Callable[[], object],
    rounds: int = 30,
    repeat: int = 20,
) -> Comparison:
    """Median time per call of ``target`` and ``baseline``, measured in alternating rounds."""
    target_times: list[float] = []
    baseline_times: list[float] = []
    for _ in range(rounds):
        for fn, sink in ((target, target_times), (baseline, baseline_times)):
            started = time.perf_counter()
            for _ in range(repeat):
                fn()
            sink.append((time.perf_counter() - started) / repeat)
    return Comparison(name, statistics.median(target_times), statistics.median(baseline_times))

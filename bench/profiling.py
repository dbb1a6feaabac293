"""What the in-process profiles (``bench.core_api_profile``, ``bench.telemetry_profile``) read from cProfile:
own time by area of the code, cumulative time of chosen steps, the functions with the most own time; and
their app's log lines sent to a file, as a container's stderr would take them."""

from __future__ import annotations

import logging
import pstats
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

# What pstats keeps: (file, line, function) → (primitive calls, calls, own time, cumulative time, callers).
_Raw = dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
_ROOT = str(Path(__file__).resolve().parent.parent)


def _raw(stats: pstats.Stats) -> _Raw:
    raw: _Raw = stats.stats  # type: ignore[attr-defined]
    return raw


def own_time_by_area(
    stats: pstats.Stats, areas: Sequence[tuple[str, Sequence[str]]], left_out: Sequence[str] = ()
) -> dict[str, float]:
    """Own time summed by area: a function's is the first of ``areas`` with a fragment in its "file
    function", else "other"; functions with a fragment of ``left_out`` there are not counted."""
    totals: dict[str, float] = {}
    for (filename, _, function), (_, _, own, _, _) in _raw(stats).items():
        where = f"{filename} {function}"
        if any(part in where for part in left_out):
            continue
        area = next((name for name, parts in areas if any(part in where for part in parts)), "other")
        totals[area] = totals.get(area, 0.0) + own
    return totals


def area_lines(areas: Mapping[str, float], per_request: Callable[[float], str]) -> list[str]:
    """A line an area, the most first: its share of all the areas' time and its time per request."""
    total = sum(areas.values())
    return [
        f"    {seconds / total * 100:5.1f} %  {per_request(seconds)}/request  {area}"
        for area, seconds in sorted(areas.items(), key=lambda item: item[1], reverse=True)
    ]


def step_lines(
    stats: pstats.Stats, steps: Sequence[tuple[str, str, str]], total: float, per_request: Callable[[float], str]
) -> list[str]:
    """A line a step the profile saw, named and found by its function in the files whose name ends with the
    given one: its cumulative time per request and its share of ``total``."""
    lines = []
    for name, filename, function in steps:
        seconds = sum(
            cumulative
            for (file, _, called), (_, _, _, cumulative, _) in _raw(stats).items()
            if file.endswith(filename) and called == function
        )
        if seconds:
            lines.append(f"    {per_request(seconds)}  {seconds / total * 100:5.1f} %  {name}")
    return lines


@dataclass(frozen=True)
class Function:
    """One profiled function: where it is (its file below the repository or site-packages, and line) and
    its calls, own time and cumulative time."""

    name: str
    place: str
    calls: int
    own: float
    cumulative: float


def heaviest(stats: pstats.Stats, count: int) -> list[Function]:
    """The ``count`` functions with the most own time, the most first."""
    rows = sorted(_raw(stats).items(), key=lambda item: item[1][2], reverse=True)[:count]
    return [
        Function(function, f"{filename.replace(_ROOT, '').split('site-packages/')[-1]}:{line}", calls, own, cumulative)
        for (filename, line, function), (_, calls, own, cumulative, _) in rows
    ]


@contextmanager
def logs_to(path: Path) -> Iterator[None]:
    """Log lines go to a file, as a container's stderr would, instead of the benchmark's output; the
    logging set-up ``create_app`` makes is undone afterwards, since its handler writes to that file."""
    saved_stderr, saved_structlog = sys.stderr, structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    with path.open("w") as target:
        sys.stderr = target
        try:
            yield
        finally:
            sys.stderr = saved_stderr
            structlog.configure(**saved_structlog)
            root.handlers[:], root.level = saved_handlers, saved_level

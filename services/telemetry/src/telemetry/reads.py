"""What the staff read routes share: periods, the organization filter, ClickHouse rows as response Structs,
store errors."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_type_hints

import msgspec
from litestar.exceptions import ValidationException
from service_common.errors import ServiceUnavailableError

from telemetry.clickhouse.store import ClickHouseError, ClickHouseStore

_PERIOD = re.compile(r"^([1-9][0-9]{0,4})([hd])$")
S = TypeVar("S", bound=msgspec.Struct)


def _one_to(limit: int) -> str:
    """A regular expression alternation matching the integers 1 to ``limit`` without leading zeros."""
    digits = str(limit)
    parts = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for position, digit in enumerate(digits):
        low = 1 if position == 0 else 0
        if int(digit) > low:
            parts.append(f"{digits[:position]}[{low}-{int(digit) - 1}][0-9]{{{len(digits) - position - 1}}}")
    return "|".join([*parts, digits])


def period_pattern(max_hours: int) -> str:
    """The periods up to ``max_hours`` (``7d``, ``24h``) as a pattern, so that the OpenAPI document states
    the bound :func:`period_hours` enforces."""
    return f"^(({_one_to(max_hours // 24)})d|({_one_to(max_hours)})h)$"


HASHED_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
"""``HashedId``'s pattern, for the path and query parameters of the read routes."""


def period_hours(period: str, max_hours: int) -> int:
    """Hours in a period such as ``7d`` or ``24h``; raises ValueError for another shape or beyond
    ``max_hours``."""
    match = _PERIOD.match(period)
    if match is None:
        raise ValueError("period must look like 7d or 24h")
    hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1)
    if hours > max_hours:
        raise ValueError(f"period may cover at most {max_hours // 24} days")
    return hours


def checked_period(period: str, max_hours: int) -> int:
    """:func:`period_hours`, a bad period becoming a 422 naming the ``period`` query parameter."""
    try:
        return period_hours(period, max_hours)
    except ValueError as exc:
        raise ValidationException(
            detail=str(exc), extra=[{"message": str(exc), "key": "period", "source": "query"}]
        ) from exc


def number(value: Any) -> float | None:
    """A ClickHouse number as float; None for the NULL or NaN an aggregate over no rows gives."""
    if value is None:
        return None
    result = float(value)
    return None if math.isnan(result) else result


def from_row(kind: type[S], row: Mapping[str, Any], prefix: str = "", **given: Any) -> S:
    """A ``kind`` response Struct from a ClickHouse row: the fields ``given``, and each other field read from
    the column ``prefix + name`` and converted by its type: ``str``, ``int``, ``float``, ``bool``, and
    ``float | None`` through :func:`number`. A field of another type must be given."""
    values = dict(given)
    for name, convert in _converters(kind):
        if name in values:
            continue
        if convert is None:
            raise TypeError(f"{kind.__name__}.{name} is not read from a column: give it")
        values[name] = convert(row[prefix + name])
    return kind(**values)


@functools.cache
def _converters(kind: type) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Each field of ``kind`` with the conversion of a column to its type, None for a type no column has."""
    return tuple(
        (name, hint if hint in (str, int, float, bool) else number if hint == float | None else None)
        for name, hint in get_type_hints(kind).items()
    )


async def select_rows(store: ClickHouseStore, query: str) -> list[dict[str, Any]]:
    """``query``'s rows; a ClickHouse failure becomes a 503."""
    try:
        return await store.select(query)
    except ClickHouseError as exc:
        raise ServiceUnavailableError("The telemetry store is unavailable; retry later.") from exc

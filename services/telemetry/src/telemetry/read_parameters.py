"""The path and query parameters the staff read routes share: a hashed id in the path, the patient's actor
hash in the query and a period, each documented by its route's own description."""

from __future__ import annotations

from litestar.params import PathParameter, QueryParameter

from telemetry.reads import HASHED_ID_PATTERN, period_pattern


def hashed_id_in_path(description: str, pattern: str = HASHED_ID_PATTERN) -> PathParameter:
    """A hashed id (``HashedId``: ``A-Za-z0-9_-``, 1-128) in the path."""
    return PathParameter(min_length=1, max_length=128, pattern=pattern, description=description)


def actor_hash_in_query(description: str) -> QueryParameter:
    """The ``actor_hash`` of the patient whose data a route reads (the ``sub`` of their telemetry token)."""
    return QueryParameter(min_length=1, max_length=128, pattern=HASHED_ID_PATTERN, description=description)


def period_in_query(max_hours: int, description: str) -> QueryParameter:
    """A ``period`` such as ``30d`` or ``24h``, of at most ``max_hours``, its bound stated in its pattern."""
    return QueryParameter(pattern=period_pattern(max_hours), description=description)

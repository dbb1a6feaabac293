"""Paths into JSON bodies and copies of a body with one string changed, for the hostile-input tests of both
services (tests/core_api/app/test_bad_input.py, tests/telemetry/app/test_hostile_input.py) and the decoders'
fuzz tests (tests/contracts)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import msgspec


def paths(
    value: Any, wanted: Callable[[Any], bool] = lambda _: True, path: tuple[Any, ...] = ()
) -> Iterator[tuple[Any, ...]]:
    """The path of every value inside ``value`` (containers and ``value`` itself included) that is ``wanted``."""
    if wanted(value):
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, wanted, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, wanted, (*path, index))


def is_string(value: Any) -> bool:
    return isinstance(value, str)


def with_nul_at(body: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    """A copy of ``body`` whose string at ``path`` has a NUL character in the middle."""
    copy: Any = msgspec.json.decode(msgspec.json.encode(body))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = f"a\u0000{parent[path[-1]]}"
    return dict(copy)

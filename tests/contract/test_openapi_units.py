"""Every number in the telemetry document says what it counts or measures, and a name that carries a unit
(``_ms``, ``_seconds``, ``_mbps``, ``bitrate``, ``_percent``, ``_degrees``) is described in that unit, so a
frontend never has to guess bit/s from Mbit/s (issue 17 §4). Both documents' unit-named numbers are checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OPENAPI = Path(__file__).resolve().parents[2] / "contracts" / "openapi"

# Name ending -> words one of which the description must use (in any case).
UNITS: dict[str, tuple[str, ...]] = {
    "_ms": ("millisecond",),
    "_seconds": ("second",),
    "_mbps": ("megabits per second", "mbit/s"),
    "bitrate": ("bits per second", "bit/s"),
    "_percent": ("percent", "0-100"),
    "_degrees": ("degree",),
}


def _is_number(schema: dict[str, Any]) -> bool:
    text = json.dumps({key: value for key, value in schema.items() if key != "description"})
    return '"number"' in text or '"integer"' in text


def numeric_properties(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(component, property, schema) of every property whose value (or items) is a number."""
    for component, schema in document["components"]["schemas"].items():
        for name, prop in (schema.get("properties") or {}).items():
            if _is_number(prop):
                yield component, name, prop


def _description(prop: dict[str, Any]) -> str:
    return str(prop.get("description") or prop.get("items", {}).get("description") or "")


@pytest.mark.parametrize("service", ["core-api", "telemetry"])
def test_a_number_named_with_a_unit_is_described_in_it(service: str) -> None:
    document = json.loads((OPENAPI / f"{service}.json").read_text())
    wrong = [
        f"{component}.{name}: {_description(prop)!r}"
        for component, name, prop in numeric_properties(document)
        for ending, words in UNITS.items()
        if name.endswith(ending) and not any(word in _description(prop).lower() for word in words)
    ]
    assert wrong == []


def test_every_telemetry_number_is_described() -> None:
    document = json.loads((OPENAPI / "telemetry.json").read_text())
    properties = list(numeric_properties(document))
    assert len(properties) > 100  # the check reads the document's numbers, not nothing
    assert [f"{component}.{name}" for component, name, prop in properties if not _description(prop)] == []

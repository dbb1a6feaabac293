"""Request examples in the OpenAPI documents: every JSON request body has one, it is valid against the
body's documented schema, and a body Struct decodes it (the example is the Struct's own
``Annotated[<Struct>, Meta(examples=...)]`` alias in ``contracts``)."""

from __future__ import annotations

import enum
import importlib
import json
import pkgutil
from typing import Any

import msgspec
import pytest

# jsonschema comes with schemathesis (a dev dependency) and ships no type hints.
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

import contracts
from tools.openapi import OPENAPI_DIR

REF_PREFIX = "#/components/schemas/"


def _contract_structs() -> dict[str, type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    for module_info in pkgutil.iter_modules(contracts.__path__, f"{contracts.__name__}."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, msgspec.Struct) and not issubclass(value, enum.Enum):
                found.setdefault(value.__name__, value)
    return found


def _json_request_bodies() -> list[tuple[str, str, dict[str, Any]]]:
    """(service, "METHOD /path", media type object) of every JSON request body of both documents, the
    media type's schema carrying the document's components so that its references resolve."""
    bodies = []
    for service in ("core-api", "telemetry"):
        document = json.loads((OPENAPI_DIR / f"{service}.json").read_text())
        for path, item in document["paths"].items():
            for method, operation in item.items():
                media = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if media is not None:
                    schema = {**media["schema"], "components": document["components"]}
                    bodies.append((service, f"{method.upper()} {path}", {**media, "schema": schema}))
    return bodies


BODIES = _json_request_bodies()
STRUCTS = _contract_structs()


@pytest.mark.parametrize(("service", "operation", "media"), BODIES, ids=[f"{s} {o}" for s, o, _ in BODIES])
def test_every_json_request_body_has_an_example_its_struct_decodes(
    service: str, operation: str, media: dict[str, Any]
) -> None:
    assert "example" in media, f"{service} {operation}: no example"
    errors = [error.message for error in Draft202012Validator(media["schema"]).iter_errors(media["example"])]
    assert errors == [], f"{service} {operation}: the example does not match the schema"
    name = media["schema"].get("$ref", "").removeprefix(REF_PREFIX)
    if name in STRUCTS:
        decoded = msgspec.json.decode(msgspec.json.encode(media["example"]), type=STRUCTS[name])
        assert isinstance(decoded, STRUCTS[name])

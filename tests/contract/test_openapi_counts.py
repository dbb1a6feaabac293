"""The counts issue 16 measured on the checked-in OpenAPI documents, each now "all" (or none)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

DOCUMENTS = {
    path.stem: json.loads(path.read_text())
    for path in sorted((Path(__file__).resolve().parents[2] / "contracts" / "openapi").glob("*.json"))
}
METHODS = ("get", "put", "post", "patch", "delete")


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [item[method] for item in document["paths"].values() for method in METHODS if method in item]


def _properties(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, field, schema)
        for name, component in document["components"]["schemas"].items()
        for field, schema in component.get("properties", {}).items()
    ]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_request_body_has_an_example(name: str) -> None:
    bodies = [op["requestBody"] for op in _operations(DOCUMENTS[name]) if "requestBody" in op]
    missing = [body for body in bodies if not any("example" in media for media in body["content"].values())]
    assert not missing, f"{len(missing)} of {len(bodies)} request bodies have no example"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_property_has_a_description(name: str) -> None:
    properties = _properties(DOCUMENTS[name])
    missing = [f"{component}.{field}" for component, field, schema in properties if not schema.get("description")]
    assert not missing, f"{len(missing)} of {len(properties)} properties have no description: {missing[:20]}"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_enum_is_described(name: str) -> None:
    schemas = DOCUMENTS[name]["components"]["schemas"]
    enums = [component for component, schema in schemas.items() if "enum" in schema]
    missing = [component for component in enums if not schemas[component].get("description")]
    assert not missing, f"{len(missing)} of {len(enums)} enums have no description: {missing}"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_tag_is_declared_with_a_description(name: str) -> None:
    declared = {tag["name"]: tag.get("description") for tag in DOCUMENTS[name].get("tags", [])}
    used = {tag for op in _operations(DOCUMENTS[name]) for tag in op.get("tags", [])}
    assert used <= set(declared), f"undeclared tags: {used - set(declared)}"
    assert all(declared.values())


@pytest.mark.parametrize("name", DOCUMENTS)
def test_summaries_are_sentences_not_handler_names(name: str) -> None:
    handler_like = [
        op["summary"] for op in _operations(DOCUMENTS[name]) if re.fullmatch(r"[A-Z][A-Za-z]*", op["summary"])
    ]
    assert not handler_like, f"summaries that are handler names: {handler_like}"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_secured_operation_states_its_roles(name: str) -> None:
    secured = [op for op in _operations(DOCUMENTS[name]) if op.get("security")]
    missing = [op["operationId"] for op in secured if not re.search(r"^Roles: [a-z, ]+\.$", op["description"], re.M)]
    assert secured
    assert not missing, f"{len(missing)} of {len(secured)} secured operations state no roles: {missing}"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_401_declares_www_authenticate(name: str) -> None:
    unauthorized = [op["responses"]["401"] for op in _operations(DOCUMENTS[name]) if "401" in op["responses"]]
    assert unauthorized
    assert all("WWW-Authenticate" in response.get("headers", {}) for response in unauthorized)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_optional_query_parameters_are_not_nullable(name: str) -> None:
    nullable = [
        (op["operationId"], parameter["name"])
        for op in _operations(DOCUMENTS[name])
        for parameter in op.get("parameters", [])
        if parameter["in"] == "query" and '"null"' in json.dumps(parameter["schema"])
    ]
    assert not nullable


def test_operation_ids_differ_by_more_than_a_letter() -> None:
    ids = sorted({op["operationId"] for document in DOCUMENTS.values() for op in _operations(document)})
    confusable = [
        (a, b)
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
        if len(a) + 1 == len(b) and any(a == b[:k] + b[k + 1 :] for k in range(len(b)))
    ]
    assert not confusable


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_201_declares_location(name: str) -> None:
    created = {
        op["operationId"]: op["responses"]["201"] for op in _operations(DOCUMENTS[name]) if "201" in op["responses"]
    }
    unlocated = [operation for operation, response in created.items() if "Location" not in response.get("headers", {})]
    assert not unlocated, f"{len(unlocated)} of {len(created)} 201s do not declare Location: {unlocated}"
    assert all(response["headers"]["Location"]["required"] for response in created.values())

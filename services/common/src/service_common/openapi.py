"""Component schemas in the OpenAPI document come from msgspec, the one schema language.

Litestar's own translation of msgspec Structs loses constraints that decoding enforces: patterns on list
items, ``additionalProperties: false`` of ``forbid_unknown_fields`` Structs, bounds inside nullable
unions. A client (or schemathesis) reading such a document would send requests it believes valid and
get 422s. So after Litestar builds the document, every component that names a msgspec type is replaced
by the schema ``msgspec.json.schema_components`` generates for it; paths and parameters stay Litestar's.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import Schema

import contracts

REF_TEMPLATE = "#/components/schemas/{name}"


@dataclass
class _DocumentSchema(Schema):
    """A component schema given as a ready JSON Schema document."""

    document: dict[str, Any] = field(default_factory=dict)

    def to_schema(self) -> dict[str, Any]:
        return self.document


def add_msgspec_components(app: Litestar, *types: Any) -> None:
    """Add the component schemas msgspec generates for ``types`` and every type they reference to
    ``app``'s document.

    For routes that read their body raw and decode it themselves: Litestar knows no body type for them,
    so the request body their ``operation_class`` documents names components only this adds.
    """
    _, generated = msgspec.json.schema_components(types, ref_template=REF_TEMPLATE)
    schemas = app.openapi_schema.components.schemas
    for name, document in generated.items():
        schemas[name] = _DocumentSchema(document=document)


def schema_document(document: dict[str, Any]) -> Schema:
    """A ``Schema`` that renders as ``document``, a ready JSON Schema (from msgspec)."""
    return _DocumentSchema(document=document)


def _contract_types() -> dict[str, type]:
    """Every msgspec Struct and enum of the ``contracts`` package, by name."""
    found: dict[str, type] = {}
    for module_info in pkgutil.iter_modules(contracts.__path__, f"{contracts.__name__}."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, type) and (issubclass(value, msgspec.Struct) or issubclass(value, enum.Enum)):
                found.setdefault(value.__name__, value)
    return found


def use_msgspec_component_schemas(app: Litestar) -> None:
    """Replace ``app``'s component schemas of msgspec types from ``contracts`` with msgspec's own."""
    openapi = app.openapi_schema
    components = openapi.components
    if not components.schemas:
        return
    types = _contract_types()
    wanted = [types[name] for name in components.schemas if name in types]
    _, generated = msgspec.json.schema_components(wanted, ref_template=REF_TEMPLATE)
    for name, document in generated.items():
        components.schemas[name] = _DocumentSchema(document=document)

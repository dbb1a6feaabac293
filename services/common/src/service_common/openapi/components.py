"""Component schemas from msgspec, the one schema language.

Litestar's own translation of msgspec Structs loses constraints that decoding enforces: patterns on list
items, ``additionalProperties: false`` of ``forbid_unknown_fields`` Structs, bounds inside nullable
unions. A client (or schemathesis) reading such a document would send requests it believes valid and
get 422s. So after Litestar builds the document, every component that names a msgspec type is replaced
by the schema ``msgspec.json.schema_components`` generates for it; paths and parameters stay Litestar's.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import pkgutil
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import Reference, RequestBody, Schema

import contracts
from service_common.openapi.operations import OPERATION_METHODS, operations

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
    examples = _contract_examples()
    contract_types = _contract_types()
    for name, document in generated.items():
        schemas[name] = _component(document, examples.get(name), contract_types.get(name))
    document_request_examples(app)
    settle_required_fields(app)


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


def _contract_examples() -> dict[str, list[Any]]:
    """Struct name → the examples a ``contracts`` alias ``Annotated[<Struct>, Meta(examples=[...])]`` gives it.

    msgspec attaches ``Meta`` to a type, not to a class, so a Struct's example is stated beside it as such
    an alias (``UserCreateBody``); the component schema of the Struct carries it."""
    found: dict[str, list[Any]] = {}
    for module_info in pkgutil.iter_modules(contracts.__path__, f"{contracts.__name__}."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if typing.get_origin(value) is not typing.Annotated:
                continue
            struct, *metadata = typing.get_args(value)
            if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
                continue
            for meta in metadata:
                if isinstance(meta, msgspec.Meta) and meta.examples:
                    found.setdefault(struct.__name__, list(meta.examples))
    return found


def _component(document: dict[str, Any], examples: list[Any] | None, kind: type | None) -> _DocumentSchema:
    """A component schema from msgspec's ``document`` for the type ``kind``: the class docstring dedented
    (msgspec keeps the indentation of its later lines, which Markdown would show as code), with ``examples``
    when given, and the tag field of a tagged-union Struct described (msgspec renders it as a bare
    ``enum`` of its one value)."""
    if "description" in document:
        document = {**document, "description": inspect.cleandoc(document["description"])}
    if kind is not None and issubclass(kind, msgspec.Struct):
        config = kind.__struct_config__
        tag = document.get("properties", {}).get(config.tag_field)
        if tag is not None:
            tag.setdefault(
                "description",
                f"Always `{config.tag}`: tells a {kind.__name__} apart from the other kinds that share "
                f"the `{config.tag_field}` field.",
            )
    if examples:
        document = {**document, "examples": examples}
    return _DocumentSchema(document=document)


def document_request_examples(app: Litestar) -> None:
    """Give every request body media type whose schema carries ``examples`` (its component's, or its own)
    the first of them as its ``example``, the field generators and linters read."""
    components = app.openapi_schema.components.schemas or {}
    for _, operation in operations(app.openapi_schema):
        body = operation.request_body
        if not isinstance(body, RequestBody):
            continue
        for media in (body.content or {}).values():
            if media.example is not None:
                continue
            schema = media.schema
            if isinstance(schema, Reference):
                schema = components.get(schema.ref.removeprefix(REF_TEMPLATE.format(name="")))
            document = schema.to_schema() if isinstance(schema, Schema) else {}
            if not document.get("examples") and "$ref" in document:
                target = components.get(document["$ref"].removeprefix(REF_TEMPLATE.format(name="")))
                document = target.to_schema() if target is not None else {}
            if document.get("examples"):
                media.example = document["examples"][0]


def use_msgspec_component_schemas(app: Litestar) -> None:
    """Replace ``app``'s component schemas of msgspec types from ``contracts`` with msgspec's own."""
    openapi = app.openapi_schema
    components = openapi.components
    if not components.schemas:
        return
    types = _contract_types()
    wanted = [types[name] for name in components.schemas if name in types]
    _, generated = msgspec.json.schema_components(wanted, ref_template=REF_TEMPLATE)
    examples = _contract_examples()
    for name, document in generated.items():
        components.schemas[name] = _component(document, examples.get(name), types.get(name))
    document_request_examples(app)


def _references(value: Any, schemas: Mapping[str, Any], found: set[str]) -> set[str]:
    """``found`` plus the component names ``value`` references, directly or through other components."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                name = item.removeprefix(REF_TEMPLATE.format(name=""))
                if name not in found:
                    found.add(name)
                    _references(schemas.get(name), schemas, found)
            else:
                _references(item, schemas, found)
    elif isinstance(value, list):
        for item in value:
            _references(item, schemas, found)
    return found


def settle_required_fields(app: Litestar) -> None:
    """Say which fields a client must send and which it always receives.

    msgspec marks a field with a default as optional and gives its ``default``. In a request that is
    right, but generators (openapi-typescript's default mode) read a ``default`` as "always present" and
    make the field required; so request components state their defaults in the description instead. In a
    response every field is always present (msgspec encodes defaults too, unless ``omit_defaults``), so
    components only responses use list every field as required.
    """
    openapi = app.openapi_schema
    schemas = openapi.components.schemas or {}
    document = openapi.to_schema()
    rendered = document.get("components", {}).get("schemas", {})
    requests: set[str] = set()
    responses: set[str] = set()
    for item in document.get("paths", {}).values():
        for method in OPERATION_METHODS:
            operation = item.get(method)
            if operation is not None:
                _references(operation.get("requestBody"), rendered, requests)
                _references(operation.get("responses"), rendered, responses)
    types = _contract_types()
    for name, component in schemas.items():
        if not isinstance(component, _DocumentSchema):
            continue
        properties: dict[str, Any] = component.document.get("properties", {})
        if name in requests:
            for field_schema in properties.values():
                if "default" in field_schema:
                    default = json.dumps(field_schema.pop("default"))
                    described = field_schema.get("description", "")
                    field_schema["description"] = f"{described} Default: `{default}`.".strip()
        elif name in responses and properties:
            struct = types.get(name)
            if struct is not None and issubclass(struct, msgspec.Struct) and struct.__struct_config__.omit_defaults:
                continue
            component.document["required"] = sorted(properties)

"""The document's operations, as the other modules of :mod:`service_common.openapi` walk them."""

from __future__ import annotations

from collections.abc import Iterator

from litestar.openapi.spec import OpenAPI, Operation, Parameter

OPERATION_METHODS = ("get", "put", "post", "patch", "delete")


def operations(openapi: OpenAPI) -> Iterator[tuple[str, Operation]]:
    """Every operation of the document with its path."""
    for path, item in (openapi.paths or {}).items():
        for method in OPERATION_METHODS:
            operation = getattr(item, method)
            if operation is not None:
                yield path, operation


def path_parameters(operation: Operation) -> list[str]:
    """The names of ``operation``'s path parameters."""
    return [
        parameter.name
        for parameter in operation.parameters or ()
        if isinstance(parameter, Parameter) and parameter.param_in == "path"
    ]

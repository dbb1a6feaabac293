"""Requests are read strictly, as their schema says.

- **Bodies.** Litestar converts a JSON body into the handler's ``data`` type in msgspec's lax mode, which
  takes ``"3"`` for 3 and ``0`` for false. A clinical API should not guess, so this ``before_request``
  hook first converts the body in strict mode against the same type and raises the validation error
  itself. The one leniency is JSON's own: ``2.0`` is the integer 2 (JSON has one number type, and JSON
  Schema's ``integer`` admits it).
- **Query strings.** A parameter the route does not declare is refused with 422 instead of ignored: a
  typo such as ``?conditon_tags=`` would otherwise return unfiltered data that looks filtered.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

import msgspec
from contracts.decoding import BodyDecoder
from litestar import Request
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.params import ParameterKwarg

_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# Handler parameters Litestar fills from the connection, never from the query string.
_RESERVED = frozenset({"request", "state", "data", "scope", "headers", "cookies", "query", "body", "socket"})

_json: BodyDecoder[Any] = BodyDecoder(Any)


@cache
def _body_type(handler: BaseRouteHandler) -> Any:
    """The type of the handler's ``data`` parameter, or ``None`` when it takes no JSON body."""
    data_type = typing.get_type_hints(handler.fn).get("data")
    return None if data_type in (None, bytes, str) else data_type


@cache
def _reads_json_body(handler: BaseRouteHandler) -> bool:
    """Whether the handler reads a JSON body: a typed ``data`` parameter, or the raw ``body`` it decodes."""
    return "body" in handler.parsed_fn_signature.parameters or _body_type(handler) is not None


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


@cache
def _query_names(handler: BaseRouteHandler) -> frozenset[str]:
    """The query parameter names ``handler`` declares (path parameters and reserved kwargs excluded)."""
    path_names = {name for path in handler.paths for name in _path_parameter_names(path)}
    names = set()
    for name, hint in typing.get_type_hints(handler.fn, include_extras=True).items():
        if name in _RESERVED or name in path_names or name == "return":
            continue
        alias = next(
            (meta.name for meta in getattr(hint, "__metadata__", ()) if isinstance(meta, ParameterKwarg) and meta.name),
            None,
        )
        names.add(alias or name)
    return frozenset(names)


def _path_parameter_names(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value


def _check_query(request: Request[Any, Any, Any]) -> None:
    unknown = sorted(set(request.query_params) - _query_names(request.route_handler))
    if unknown:
        raise ValidationException(
            detail="The request has query parameters this operation does not take.",
            extra=[{"message": "unknown query parameter", "key": name[:64], "source": "query"} for name in unknown[:5]],
        )


def _check_media_type(request: Request[Any, Any, Any]) -> None:
    if _reads_json_body(request.route_handler) and not _is_json(request.content_type[0].lower()):
        raise HTTPException(
            status_code=415, detail="The request body must be JSON, sent as Content-Type: application/json."
        )


async def _check_body(request: Request[Any, Any, Any]) -> None:
    data_type = _body_type(request.route_handler)
    if data_type is None:
        return
    try:
        document = _json.decode(await request.body())
    except msgspec.DecodeError as exc:
        raise ClientException(detail=str(exc)) from exc
    try:
        msgspec.convert(_integral_floats_as_ints(document), data_type, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            detail="The request body did not validate.",
            extra=[{"message": str(exc), "key": "", "source": "body"}],
        ) from exc


async def enforce_strict_request(request: Request[Any, Any, Any]) -> None:
    """Refuse undeclared query parameters, bodies that are not JSON, and bodies that do not strictly match
    their type."""
    if request.method == "OPTIONS":
        return
    _check_query(request)
    if request.method in _METHODS_WITH_BODY:
        _check_media_type(request)
        await _check_body(request)

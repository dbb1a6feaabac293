"""Requests are read strictly, as their schema says.

- **Bodies.** Litestar converts a JSON body into the handler's ``data`` type in msgspec's lax mode, which
  takes ``"3"`` for 3 and ``0`` for false. A clinical API should not guess, so this ``before_request``
  hook first converts the body in strict mode against the same type and raises the validation error
  itself. The one leniency is JSON's own: ``2.0`` is the integer 2 (JSON has one number type, and JSON
  Schema's ``integer`` admits it).
- **Media types.** A route that reads a body takes it as JSON (``application/json`` or ``application/*+json``)
  and answers 415 to anything else. The one exception is telemetry's ``POST /v1/beacon``, the only route
  whose handler carries the ``opt`` flag :data:`JSON_AS_TEXT_PLAIN`: ``navigator.sendBeacon`` cannot set
  a content type other than ``text/plain`` without a CORS preflight, so that route also takes its JSON
  document as ``text/plain`` (UTF-8). Its body is still decoded strictly by its handler. Likewise only
  telemetry's ``POST /v1/media/cmcd`` carries :data:`CMCD_BODY` and also takes ``application/cmcd`` (and
  its former name ``text/cmcd``, UTF-8): the CMCD reports media players send, which its handler parses.
- **Query strings.** A parameter the route does not declare is refused with 422 instead of ignored: a
  typo such as ``?conditon_tags=`` would otherwise return unfiltered data that looks filtered.
- **Parameter values.** No query or path parameter may hold a control character (C0 or DEL): PostgreSQL
  refuses NUL in text, and none belongs in a name, id or search term. A date or date-time parameter must
  fall in the years :data:`EARLIEST` to :data:`LATEST`, so that no handler's date arithmetic (a week
  around it, a local midnight, an enrollment's end) overflows Python's years 1 to 9999; so must every
  date and date-time of a body. Each is a 422 naming the parameter or field, checked here once for every
  route instead of in each handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import msgspec
from contracts.decoding import BodyDecoder
from litestar import Request
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.routes import HTTPRoute

if TYPE_CHECKING:
    from litestar._kwargs import KwargsModel

_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
EARLIEST = date(1900, 1, 1)
"""The earliest date a date or date-time parameter or body field may hold."""
LATEST = date(2200, 12, 31)
"""The latest date a date or date-time parameter or body field may hold."""
assert (EARLIEST.year, LATEST.year) == (1900, 2200), "the documented patterns below spell these years out"
TEXT_PATTERN = r"^[^\u0000-\u001f\u007f]*$"
"""The OpenAPI ``pattern`` of every text parameter: no control character (what this hook refuses)."""
YEAR_PATTERN = r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-"
"""The OpenAPI ``pattern`` of every date and date-time parameter: a year from EARLIEST to LATEST."""

JSON_AS_TEXT_PLAIN = "json_as_text_plain"
"""The route handler ``opt`` key of the one route that also takes its JSON body as ``text/plain``
(telemetry's ``POST /v1/beacon``; a test checks no other route of either service carries it)."""

CMCD_BODY = "cmcd_body"
"""The route handler ``opt`` key of the one route that also takes CMCD reports (telemetry's
``POST /v1/media/cmcd``) as ``application/cmcd`` or ``text/cmcd`` (UTF-8); a test checks no other route of
either service carries it."""
_CMCD_MEDIA_TYPES = frozenset({"application/cmcd", "text/cmcd"})

_json: BodyDecoder[Any] = BodyDecoder(Any)


@cache
def _body_type(handler: BaseRouteHandler) -> Any:
    """The type of the handler's ``data`` parameter, or ``None`` when it takes no JSON body."""
    # Litestar's parsed signature, not typing.get_type_hints: it resolves names the handler's module imports
    # only for type checking (Litestar's own schema handlers), which get_type_hints cannot.
    data = handler.parsed_fn_signature.parameters.get("data")
    return None if data is None or data.annotation in (bytes, str) else data.annotation


@cache
def _reads_json_body(handler: BaseRouteHandler) -> bool:
    """Whether the handler reads a JSON body: a typed ``data`` parameter, or the raw ``body`` it decodes."""
    return "body" in handler.parsed_fn_signature.parameters or _body_type(handler) is not None


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _kwargs_model(request: Request[Any, Any, Any]) -> KwargsModel | None:
    """The parameters Litestar reads for the request's route and method (its own record, so aliases,
    path parameters and reserved names are told apart exactly as when it calls the handler)."""
    handler = request.route_handler
    for route in request.app.asgi_router.route_mapping.get(handler.name or str(handler), ()):
        entry = route.route_handler_map.get(request.method) if isinstance(route, HTTPRoute) else None
        if entry is not None and entry[0] is handler:
            return entry[1]
    return None


@cache
def _temporal_type(handler: BaseRouteHandler, field_name: str) -> type[date] | None:
    """``datetime`` or ``date`` when the handler's parameter ``field_name`` holds one (alone, optional or in
    a list), else ``None``."""
    field = handler.parsed_fn_signature.parameters.get(field_name)
    if field is None:
        return None
    for kind in (datetime, date):
        if field.is_subclass_of(kind) or field.has_inner_subclass_of(kind):
            return kind
    return None


@cache
def _takes_text(handler: BaseRouteHandler, field_name: str) -> bool:
    """Whether the handler's parameter ``field_name`` holds text (alone, optional or in a list)."""
    field = handler.parsed_fn_signature.parameters.get(field_name)
    return field is None or field.is_subclass_of(str) or field.has_inner_subclass_of(str)


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value


def _check_query(request: Request[Any, Any, Any], model: KwargsModel) -> None:
    declared = {parameter.field_alias for parameter in model.expected_query_params}
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise ValidationException(
            detail="The request has query parameters this operation does not take.",
            extra=[{"message": "unknown query parameter", "key": name[:64], "source": "query"} for name in unknown[:5]],
        )


def _check_required(request: Request[Any, Any, Any], model: KwargsModel) -> None:
    """Litestar's own refusal of a missing parameter names it only in its prose, with the whole URL: say it
    here, like every other refused parameter, with the field at fault (after the values given are judged)."""
    missing = [
        parameter.field_alias
        for parameter in model.expected_query_params
        if parameter.is_required and parameter.field_alias not in request.query_params
    ]
    if missing:
        raise ValidationException(
            detail="The request lacks a query parameter this operation needs.",
            extra=[{"message": "required", "key": name, "source": "query"} for name in missing],
        )


def _parameter_values(request: Request[Any, Any, Any]) -> Iterator[tuple[str, str, str]]:
    """(source, name, value) of every query parameter value and every path parameter given as text."""
    for name, value in request.query_params.multi_items():
        yield "query", name, value
    for name, value in request.path_params.items():
        if isinstance(value, str):
            yield "path", name, value


def _out_of_range(raw: str, kind: type[date]) -> bool:
    try:
        value = msgspec.convert(raw, kind, strict=False)
    except msgspec.ValidationError:
        return False  # not a date at all: Litestar's own conversion refuses it
    return not EARLIEST <= (value.date() if isinstance(value, datetime) else value) <= LATEST


def _check_values(request: Request[Any, Any, Any], model: KwargsModel) -> None:
    errors = [
        {"message": "control characters are not allowed", "key": name[:64], "source": source}
        for source, name, value in _parameter_values(request)
        if _CONTROL_CHARACTERS.search(value)
    ]
    for parameter in model.expected_query_params:
        # Litestar reads ``null`` as "not given" for an optional number or date; the documents type those
        # parameters without null (a query string has none: leaving the parameter out says it), so it is
        # refused like any other value that is not of the parameter's type.
        if "null" in request.query_params.getall(parameter.field_alias, []) and not _takes_text(
            request.route_handler, parameter.field_name
        ):
            errors.append(
                {"message": "null is not a value of this parameter", "key": parameter.field_alias, "source": "query"}
            )
        kind = _temporal_type(request.route_handler, parameter.field_name)
        if kind is not None and any(
            _out_of_range(raw, kind) for raw in request.query_params.getall(parameter.field_alias, [])
        ):
            errors.append(
                {
                    "message": f"must be a {kind.__name__} from {EARLIEST.isoformat()} to {LATEST.isoformat()}",
                    "key": parameter.field_alias,
                    "source": "query",
                }
            )
    if errors:
        raise ValidationException(detail="A parameter holds a value no operation takes.", extra=errors[:5])


def _is_utf8(options: dict[str, str]) -> bool:
    return options.get("charset", "utf-8").lower() == "utf-8"


def _check_media_type(request: Request[Any, Any, Any]) -> None:
    handler = request.route_handler
    media_type, options = request.content_type
    media_type = media_type.lower()
    if not _reads_json_body(handler) or _is_json(media_type):
        return
    text_plain_too = bool(handler.opt.get(JSON_AS_TEXT_PLAIN))
    cmcd_too = bool(handler.opt.get(CMCD_BODY))
    if _is_utf8(options) and (
        (text_plain_too and media_type == "text/plain") or (cmcd_too and media_type in _CMCD_MEDIA_TYPES)
    ):
        return
    also = " or text/plain (UTF-8)" if text_plain_too else " or application/cmcd (UTF-8)" if cmcd_too else ""
    raise HTTPException(
        status_code=415, detail=f"The request body must be JSON, sent as Content-Type: application/json{also}."
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
        data = msgspec.convert(_integral_floats_as_ints(document), data_type, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            detail="The request body did not validate.",
            extra=[{"message": str(exc), "key": "", "source": "body"}],
        ) from exc
    errors = [
        {
            "message": f"must be a {type(value).__name__} from {EARLIEST.isoformat()} to {LATEST.isoformat()}",
            "key": path,
        }
        for path, value in _dates(data, "")
        if not EARLIEST <= (value.date() if isinstance(value, datetime) else value) <= LATEST
    ]
    if errors:
        raise ValidationException(detail="The request body did not validate.", extra=errors[:5])


def _dates(value: Any, path: str) -> Iterator[tuple[str, date]]:
    """Every date and date-time in a decoded body, with its path (``items[0].start_date``)."""
    if isinstance(value, date):
        yield path, value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _dates(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _dates(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _dates(item, f"{path}.{key}" if path else str(key))


async def enforce_strict_request(request: Request[Any, Any, Any]) -> None:
    """Refuse undeclared query parameters, parameter values with control characters or dates out of range,
    bodies that are not JSON, and bodies that do not strictly match their type."""
    if request.method == "OPTIONS":
        return
    model = _kwargs_model(request)
    if model is not None:
        _check_query(request, model)
        _check_values(request, model)
        _check_required(request, model)
    if request.method in _METHODS_WITH_BODY:
        _check_media_type(request)
        await _check_body(request)

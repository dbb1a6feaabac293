"""Hostile values for every query and path parameter of an app, generated from its route table.

For each route (method and path) of an app, :func:`probes` lists one request per parameter and hostile
value: control characters (NUL, SOH, US, DEL) in every query and path parameter, and dates and date-times
at the ends of what Python can hold in every parameter the OpenAPI document gives the ``date`` or
``date-time`` format. The routes and parameters come from the app itself (``app.routes`` and the
parameters its OpenAPI document lists for each), so a new route or parameter is swept without anyone
adding it here. Every probe must be answered with a 4xx problem, never a 500.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Litestar
from litestar.openapi.spec import Parameter
from litestar.routes import HTTPRoute

CONTROL_CHARACTERS = ("\x00", "\x01", "\x1f", "\x7f")
EXTREME_DATES = ("0001-01-01", "9999-12-31", "1899-12-31", "2201-01-01")
EXTREME_DATE_TIMES = (
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00",
)
PUBLIC = re.compile(r"^/(healthz|readyz)$|^/schema|^/\.well-known/")
_PATH_PARAMETER = re.compile(r"\{([a-z_]+):([a-z]+)\}")
# A value of each path parameter type that names nothing, for the parameters a probe leaves alone.
_PLACEHOLDERS = {"int": "987654321", "uuid": str(uuid.UUID(int=1)), "str": "nothing"}


@dataclass(frozen=True)
class Probe:
    """One request: ``value`` in the ``source`` ("query" or "path") parameter ``parameter``."""

    parameter: str
    source: str
    value: str

    def target(self, path: str, values: Mapping[str, Any]) -> str:
        """The URL of ``path`` (a route path such as ``/v1/x/{id:int}``) with this probe's value and, for the
        other path parameters, ``values`` or a placeholder."""

        def fill(match: re.Match[str]) -> str:
            name, kind = match.groups()
            if self.source == "path" and name == self.parameter:
                return quote(self.value, safe="")
            return quote(str(values.get(name, _PLACEHOLDERS[kind])), safe="")

        url = _PATH_PARAMETER.sub(fill, path)
        return f"{url}?{quote(self.parameter)}={quote(self.value, safe='')}" if self.source == "query" else url


def routes(app: Litestar) -> list[tuple[str, str]]:
    """Every (method, path) of the app but OPTIONS and the public health, schema and key routes."""
    return sorted(
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute) and not PUBLIC.match(route.path)
        for handler in route.route_handlers
        for method in handler.http_methods
        if method != "OPTIONS"
    )


def _formats(schema: Any) -> set[str]:
    """Every ``format`` named in a JSON Schema document, however deep in ``oneOf``/``anyOf``/``items``."""
    if isinstance(schema, dict):
        # Litestar's document holds its OpenAPIFormat enum, which hashes unlike the text it equals.
        named = schema.get("format")
        found = {str(getattr(named, "value", named))} if named is not None else set()
        return found.union(*(_formats(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_formats(item) for item in schema))
    return set()


def _parameters(app: Litestar, method: str, path: str) -> Iterator[tuple[str, str, set[str]]]:
    """(name, source, formats) of each query and path parameter the OpenAPI document lists for the route."""
    route = next(route for route in app.routes if isinstance(route, HTTPRoute) and route.path == path)
    item = (app.openapi_schema.paths or {})[route.path_format]
    operation = getattr(item, method.lower())
    for parameter in operation.parameters or ():
        if isinstance(parameter, Parameter) and parameter.param_in in ("query", "path"):
            schema = parameter.schema.to_schema() if parameter.schema is not None else {}
            yield parameter.name, str(getattr(parameter.param_in, "value", parameter.param_in)), _formats(schema)


def probes(app: Litestar, method: str, path: str) -> list[Probe]:
    """Every hostile request of the route: each control character in each query and path parameter, and
    each extreme date (date-time) in each date (date-time) query parameter."""
    found: list[Probe] = []
    for name, source, formats in _parameters(app, method, path):
        found += [Probe(name, source, "ok" + character) for character in CONTROL_CHARACTERS]
        if source == "query" and "date" in formats:
            found += [Probe(name, source, value) for value in EXTREME_DATES]
        if source == "query" and "date-time" in formats:
            found += [Probe(name, source, value) for value in EXTREME_DATE_TIMES]
    return found


def date_parameters(app: Litestar) -> set[tuple[str, str, str]]:
    """(method, path, parameter) of every date or date-time query parameter of the app."""
    return {
        (method, path, name)
        for method, path in routes(app)
        for name, source, formats in _parameters(app, method, path)
        if source == "query" and formats & {"date", "date-time"}
    }


def wrong_answers(
    client: Any, method: str, path: str, values: Mapping[str, Any], headers: Mapping[str, str]
) -> list[str]:
    """Each probe of the route that was not answered with a 4xx problem (naming the parameter, when it is a
    query parameter or a path parameter the route matched), as a line saying what came back instead."""
    wrong = []
    for probe in probes(client.app, method, path):
        target = probe.target(path, values)
        response = client.request(method, target, headers=dict(headers))
        problem = response.headers.get("content-type") == "application/problem+json"
        fields = {error.get("field") for error in (response.json().get("errors") or [])} if problem else set()
        # A path parameter of another type than text does not match the route at all: 404.
        named = f"{probe.source}:{probe.parameter}" in fields or (
            probe.source == "path" and response.status_code == 404
        )
        if not (400 <= response.status_code < 500 and problem and named):
            wrong.append(f"{method} {target}: {response.status_code} {response.text[:160]}")
    return wrong

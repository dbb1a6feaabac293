"""Query and path parameters as the routes take them."""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Parameter, Reference, Schema

from service_common.openapi.operations import operations
from service_common.strict_requests import TEXT_PATTERN, YEAR_PATTERN


def document_parameter_values(app: Litestar) -> None:
    """State in the document the values every route refuses before its handler runs
    (:mod:`service_common.strict_requests`): a text query or path parameter holds no control character,
    and a date or date-time parameter falls in the years ``EARLIEST`` to ``LATEST``. A client, a
    generator or schemathesis reading the document then knows them."""
    for _, operation in operations(app.openapi_schema):
        for parameter in operation.parameters or ():
            if not isinstance(parameter, Parameter) or not isinstance(parameter.schema, Schema):
                continue
            for schema in (parameter.schema, *(parameter.schema.one_of or ())):
                if not isinstance(schema, Schema) or schema.type != OpenAPIType.STRING or schema.enum:
                    continue
                if schema.format in (OpenAPIFormat.DATE, OpenAPIFormat.DATE_TIME):
                    schema.pattern = YEAR_PATTERN
                elif schema.pattern is None and schema.format is None:
                    schema.pattern = TEXT_PATTERN


def drop_null_from_query_parameters(app: Litestar) -> None:
    """Type optional query parameters as their value alone: Litestar renders ``int | None`` as
    ``oneOf: [integer, null]``, but a query string has no null, an absent parameter is how a client says
    it (and generators would otherwise type the parameter ``number | null``)."""
    for _, operation in operations(app.openapi_schema):
        for parameter in operation.parameters or ():
            if not isinstance(parameter, Parameter) or parameter.param_in != "query":
                continue
            schema = parameter.schema
            if not isinstance(schema, Schema) or not schema.one_of:
                continue
            values = [
                branch
                for branch in schema.one_of
                if not (isinstance(branch, Schema) and branch.type == OpenAPIType.NULL)
            ]
            if len(values) != 1 or len(values) == len(schema.one_of):
                continue
            (value,) = values
            schema.one_of = None
            if isinstance(value, Reference):
                if any(item is not None for item in vars(schema).values()):
                    schema.all_of = [value]
                else:
                    parameter.schema = value
                continue
            for name, item in vars(value).items():
                if getattr(schema, name) is None:
                    setattr(schema, name, item)

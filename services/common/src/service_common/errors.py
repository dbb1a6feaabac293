"""RFC 9457 problem details for every error either service returns.

Domain code raises :class:`DomainError` subclasses; Litestar's own exceptions (validation, 404, 405, 413)
and anything unexpected are translated here, so no handler ever builds an error body by hand and no stack
trace, SQL text or exception message of an unexpected error reaches a client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import msgspec
import structlog
from contracts.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, FieldError, Problem
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

log = structlog.get_logger("errors")


class DomainError(Exception):
    """An error a rule of the domain raises; its class fixes the status and the problem ``type``."""

    status: ClassVar[int] = HTTPStatus.BAD_REQUEST
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFoundError(DomainError):
    status = HTTPStatus.NOT_FOUND
    slug = "not-found"
    title = "Resource not found"


class ConflictError(DomainError):
    status = HTTPStatus.CONFLICT
    slug = "conflict"
    title = "Conflict with the resource's current state"


class ForbiddenError(DomainError):
    status = HTTPStatus.FORBIDDEN
    slug = "forbidden"
    title = "Not allowed"


class UnprocessableError(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "unprocessable"
    title = "The request breaks a rule"


class IllegalTransitionError(ConflictError):
    """A status change the resource's lifecycle forbids; the problem lists the statuses it may move to."""

    slug = "illegal-transition"
    title = "The status change is not allowed from the current status"

    def __init__(self, detail: str, *, allowed_transitions: list[str]) -> None:
        super().__init__(detail)
        self.allowed_transitions = allowed_transitions


class ServiceUnavailableError(DomainError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    slug = "service-unavailable"
    title = "A dependency is unavailable"


_encoder = msgspec.json.Encoder()
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# msgspec reports the failing location as "... - at `$.frames[0].landmark_x`"; Litestar keeps the message.
_MSGSPEC_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> Response[bytes]:
    """Encode ``problem`` as an ``application/problem+json`` response."""
    return Response(
        content=_encoder.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _problem_type(slug: str) -> str:
    return f"{PROBLEM_TYPE_BASE}{slug}"


def _field_errors(extra: Any) -> list[FieldError]:
    """Turn Litestar's validation ``extra`` list into field errors with a JSON-path-like ``field``."""
    errors: list[FieldError] = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, Mapping):
            continue
        message = str(item.get("message", "invalid value"))
        field = str(item.get("key", ""))
        match = _MSGSPEC_PATH.search(message)
        if match:
            message = message[: match.start()]
            nested = match.group("path")
            field = f"{field}.{nested}" if field and nested and not nested.startswith("[") else field + nested
        source = getattr(item.get("source"), "value", item.get("source"))
        if source and source != "body":
            field = f"{source}:{field}" if field else str(source)
        errors.append(FieldError(field=field or "body", message=message))
    return errors


def _on_domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    return problem_response(
        Problem(
            type=_problem_type(exc.slug),
            title=exc.title,
            status=int(exc.status),
            detail=exc.detail,
            errors=exc.errors,
            allowed_transitions=exc.allowed_transitions if isinstance(exc, IllegalTransitionError) else None,
        )
    )


def _on_validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    errors = _field_errors(exc.extra)
    if not errors and "malformed" in (exc.detail or "").lower():
        return _malformed_body(exc.detail)
    return problem_response(
        Problem(
            type=_problem_type("validation-error"),
            title="The request did not validate",
            status=HTTPStatus.UNPROCESSABLE_ENTITY,
            detail="; ".join(f"{e.field}: {e.message}" for e in errors) or exc.detail,
            errors=errors or None,
        )
    )


def _on_recursion_error(request: Request[Any, Any, Any], exc: RecursionError) -> Response[bytes]:
    # msgspec recurses into nested JSON it skips or decodes; a few KB of brackets exhaust the stack.
    # That is bad input when a body was sent; anywhere else it is a bug.
    if request.method in _METHODS_WITH_BODY:
        return _malformed_body("The JSON is nested too deeply.")
    return _on_unexpected(request, exc)


def _malformed_body(detail: str | None) -> Response[bytes]:
    return problem_response(
        Problem(
            type=_problem_type("malformed-body"),
            title="The request body is not valid JSON",
            status=HTTPStatus.BAD_REQUEST,
            detail=detail,
        )
    )


def _on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return _on_unexpected(request, exc)
    if status == HTTPStatus.BAD_REQUEST and request.method in _METHODS_WITH_BODY:
        # Litestar reports a body it cannot parse as a bare 400 ("Input data was truncated", ...).
        return _malformed_body(exc.detail)
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return problem_response(
        Problem(type="about:blank", title=phrase, status=status, detail=exc.detail or None),
        headers=exc.headers,
    )


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("request.failed", route=request.scope.get("path_template"), exc_info=exc)
    return problem_response(
        Problem(
            type=_problem_type("internal-error"),
            title="Internal server error",
            status=HTTPStatus.INTERNAL_SERVER_ERROR,
            detail="The error was logged with this response's request id.",
        )
    )


def exception_handlers() -> ExceptionHandlersMap:
    """The handlers that make every error of an app a problem+json response."""
    return {
        DomainError: _on_domain_error,
        ValidationException: _on_validation_error,
        RecursionError: _on_recursion_error,
        HTTPException: _on_http_exception,
        Exception: _on_unexpected,
    }


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response entries documenting that a route answers ``statuses`` with problem details.

    400 (a body or parameter that cannot be parsed) is always included: any route can receive one.
    """
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=HTTPStatus(status).phrase,
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in sorted({HTTPStatus.BAD_REQUEST, *statuses})
    }


__all__ = [
    "ConflictError",
    "DomainError",
    "ForbiddenError",
    "IllegalTransitionError",
    "NotFoundError",
    "ServiceUnavailableError",
    "UnprocessableError",
    "exception_handlers",
    "problem_response",
    "problem_responses",
]

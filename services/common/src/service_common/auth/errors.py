"""A refused bearer token: :class:`AuthenticationError` and the 401 problem it is answered with.

The 401 carries ``WWW-Authenticate`` (RFC 6750 requires the challenge), which the shared exception
handlers of :mod:`service_common.errors` do not send; so the bearer middleware, and a route that verifies
a token it finds elsewhere than in the header, answer with :func:`unauthenticated_response`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from contracts.problems import PROBLEM_TYPE_BASE, Problem
from litestar import Request, Response

from service_common.errors import DomainError, problem_response


class AuthenticationError(DomainError):
    """The request carries no usable bearer token."""

    status = HTTPStatus.UNAUTHORIZED
    slug = "unauthenticated"
    title = "Authentication required"

    def __init__(self, detail: str, *, token_sent: bool = True) -> None:
        super().__init__(detail)
        # RFC 6750 section 3.1: a request without a token gets the bare challenge, a bad token an error code.
        self.challenge = 'Bearer error="invalid_token"' if token_sent else "Bearer"


def unauthenticated_response(_: Request[Any, Any, Any], exc: AuthenticationError) -> Response[bytes]:
    """The 401 problem for ``exc`` with its ``WWW-Authenticate`` challenge; also the exception handler of a
    route that verifies a token it finds elsewhere than in the header (telemetry's beacon)."""
    return problem_response(
        Problem(type=f"{PROBLEM_TYPE_BASE}{exc.slug}", title=exc.title, status=int(exc.status), detail=exc.detail),
        headers={"WWW-Authenticate": exc.challenge},
    )

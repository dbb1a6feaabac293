"""The bearer-token middleware: every request but the public paths must carry a token that verifies.

:func:`service_common.app.service_app` lists ``auth_middleware(verifier)`` after the request-id middleware,
with the verifier the service's ``create_app()`` built. A rejected token is answered here, with a 401
problem carrying ``WWW-Authenticate`` (:func:`service_common.auth.errors.unauthenticated_response`); on a
websocket it closes the connection with policy violation.
"""

from __future__ import annotations

import re

import structlog
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import WebSocketException
from litestar.middleware import ASGIMiddleware
from litestar.status_codes import WS_1008_POLICY_VIOLATION
from litestar.types import ASGIApp, Receive, Scope, Send

from service_common.auth.errors import AuthenticationError, unauthenticated_response
from service_common.auth.verifier import Verifier

log = structlog.get_logger("auth")

# Paths answered without a token: probes, the API documentation, and well-known discovery documents.
_PUBLIC_PATHS = re.compile(r"^/(?:healthz|readyz)/?$|^/schema(?:/|$)|^/\.well-known/")


def _bearer_token(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            token = credentials.strip()
            if scheme.lower() != "bearer" or not token:
                raise AuthenticationError("The Authorization header must read `Bearer <token>`.", token_sent=False)
            return token
    raise AuthenticationError("This operation needs a bearer token in the Authorization header.", token_sent=False)


def _needs_no_token(scope: Scope) -> bool:
    # OPTIONS is answered by the framework (Allow, CORS preflight) without running a handler, and
    # browsers send preflights without credentials.
    return scope.get("method") == "OPTIONS" or _PUBLIC_PATHS.match(scope["path"]) is not None


class BearerAuthMiddleware(ASGIMiddleware):
    """Authenticates every request but the public paths; sets ``scope["user"]`` to what the verifier
    returns (an :class:`Actor` for :class:`TokenVerifier`).

    Handlers opt out with ``opt={"exclude_from_auth": True}``.
    """

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)
    exclude_opt_key = "exclude_from_auth"

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self.should_bypass_for_scope = _needs_no_token

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        try:
            actor = await self.verifier.verify(_bearer_token(scope))
        except AuthenticationError as exc:
            log.info("auth.rejected", reason=exc.detail)
            if scope["type"] != ScopeType.HTTP:
                raise WebSocketException(detail=exc.detail, code=WS_1008_POLICY_VIOLATION) from exc
            response = unauthenticated_response(Request(scope), exc)
            await response.to_asgi_response(app=None, request=Request(scope))(scope, receive, send)
            return
        scope["user"] = actor
        await next_app(scope, receive, send)


def auth_middleware(verifier: Verifier) -> BearerAuthMiddleware:
    """The middleware to list in ``Litestar(middleware=[...])``, after the request-id middleware."""
    return BearerAuthMiddleware(verifier)

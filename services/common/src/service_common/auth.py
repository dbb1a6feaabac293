"""Bearer-JWT authentication and role guards for both services.

A request carries ``Authorization: Bearer <JWT>``. :class:`TokenVerifier` checks the token against the
identity provider's public keys (a JWKS document: fetched from ``AUTH_JWKS_URL`` in production, read from
``AUTH_JWKS_FILE`` on a developer's machine, see ``tools/tokens.py``) and turns its claims into an
:class:`Actor`. Only EdDSA (Ed25519) and RS256 signatures are accepted, each key only with its own
algorithm, so ``alg=none`` and the HS256-with-a-public-key confusion can never verify.

Wiring, in ``create_app()``::

    verifier = TokenVerifier(from_env(AuthSettings, "AUTH_"))
    Litestar(
        middleware=[request_context_middleware, auth_middleware(verifier)],
        openapi_config=OpenAPIConfig(
            ..., components=bearer_security_components(), security=bearer_security()
        ),
    )

and on a controller or route, ``guards=[allow_roles("specialist", "admin")]``; handlers read the caller
with ``current_actor(request)`` (or ``request.user``).

A rejected token is answered by the middleware itself with a 401 problem carrying ``WWW-Authenticate``:
the shared exception handlers build problem responses without extra headers, and the challenge header is
part of what RFC 6750 requires of a 401.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, get_args

import httpx
import jwt
import msgspec
import structlog
from contracts.problems import PROBLEM_TYPE_BASE, Problem
from contracts.types import IntId
from jwt import PyJWK
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import ImproperlyConfiguredException, WebSocketException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme
from litestar.status_codes import WS_1008_POLICY_VIOLATION
from litestar.types import ASGIApp, Receive, Scope, Send

from service_common.errors import DomainError, ForbiddenError, ServiceUnavailableError, problem_response

log = structlog.get_logger("auth")

Role = Literal["admin", "specialist", "patient"]
"""What a user may do: administer an organization, treat its patients, or follow a program."""

ACCEPTED_ALGORITHMS = ("EdDSA", "RS256")
"""Signature algorithms a token may use; everything else (``none``, HS*, ...) is refused."""

BEARER_SCHEME_NAME = "BearerToken"
"""Name of the bearer security scheme in the OpenAPI documents."""

# Paths answered without a token: probes, the API documentation, and well-known discovery documents.
_PUBLIC_PATHS = re.compile(r"^/(?:healthz|readyz)/?$|^/schema(?:/|$)|^/\.well-known/")

# An unknown ``kid`` makes the verifier refetch a remote JWKS, but not more often than this: otherwise
# tokens with made-up key ids would turn every request into a request to the identity provider.
_MIN_REFETCH_SECONDS = 30.0
# After a failed fetch, the next request tries again this much later (keeping any keys it had).
_RETRY_AFTER_FAILURE_SECONDS = 5.0
_FETCH_TIMEOUT_SECONDS = 5.0
_BIGINT_MAX = 2**63 - 1


class AuthSettings(msgspec.Struct, frozen=True):
    """Bearer-token verification (environment prefix ``AUTH_``)."""

    jwks_url: str = ""
    """The identity provider's JWKS URL (AUTH_JWKS_URL); set it in production. Empty: use AUTH_JWKS_FILE."""
    jwks_file: str = ".data/dev-keys/jwks.json"
    """JWKS file of the development key, for local runs and tests (AUTH_JWKS_FILE); `make token` writes it."""
    issuer: str = "telerehab-dev"
    """The `iss` every token must carry (AUTH_ISSUER)."""
    audience: str = "telerehab-api"
    """The `aud` every token must name (AUTH_AUDIENCE)."""
    leeway_seconds: Annotated[int, msgspec.Meta(ge=0)] = 30
    """Clock skew tolerated when checking `exp` and `nbf` (AUTH_LEEWAY_SECONDS)."""
    jwks_cache_seconds: Annotated[int, msgspec.Meta(ge=1)] = 300
    """How long keys fetched from AUTH_JWKS_URL are used before a refetch (AUTH_JWKS_CACHE_SECONDS)."""
    max_token_lifetime_seconds: Annotated[int, msgspec.Meta(ge=1)] = 8 * 3600
    """Longest validity a token may claim: one whose `exp` lies further than this after its `iat`, or
    after now, is refused (AUTH_MAX_TOKEN_LIFETIME_SECONDS)."""
    user_check_cache_seconds: Annotated[int, msgspec.Meta(ge=0)] = 60
    """core-api: how long a token's user is remembered as existing, active and matching the token before
    PostgreSQL is asked again; a deleted user loses access within it (AUTH_USER_CHECK_CACHE_SECONDS)."""


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller, as its verified token describes it."""

    user_id: int
    role: Role
    organization_id: int
    # Set exactly when ``role`` is ``patient``: the patient record this user is.
    patient_id: int | None
    # An admin of the platform operator, who may write global (organization-less) rows.
    platform_admin: bool = False


class AuthenticationError(DomainError):
    """The request carries no usable bearer token."""

    status = HTTPStatus.UNAUTHORIZED
    slug = "unauthenticated"
    title = "Authentication required"

    def __init__(self, detail: str, *, token_sent: bool = True) -> None:
        super().__init__(detail)
        # RFC 6750 section 3.1: a request without a token gets the bare challenge, a bad token an error code.
        self.challenge = 'Bearer error="invalid_token"' if token_sent else "Bearer"


class _Claims(msgspec.Struct, frozen=True):
    """The claims an actor is built from; ``iss``, ``aud``, ``exp``, ``nbf`` and ``iat`` PyJWT checks."""

    sub: Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{0,18}\Z")]
    role: Role
    org_id: IntId
    patient_id: IntId | None = None
    platform_admin: bool = False


class _JwkSet(msgspec.Struct):
    keys: list[dict[str, Any]]


_jwk_set_decoder = msgspec.json.Decoder(_JwkSet)


def _signing_keys(document: bytes) -> dict[str, PyJWK]:
    """The keys of a JWKS document a token may be signed with, by ``kid``.

    Keys without a ``kid``, encryption keys, and keys of other algorithms (HMAC secrets above all) are
    left out. Raises ``msgspec.MsgspecError`` when the document is not a JWKS.
    """
    keys: dict[str, PyJWK] = {}
    for entry in _jwk_set_decoder.decode(document).keys:
        kid = entry.get("kid")
        if not isinstance(kid, str) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(entry)
        except PyJWTError:
            continue  # a key type or curve PyJWT cannot use; the other keys still count
        if key.algorithm_name in ACCEPTED_ALGORITHMS:
            keys[kid] = key
    return keys


class _KeySource(Protocol):
    async def key_for(self, kid: str) -> PyJWK | None:
        """The signing key named ``kid``, or ``None`` when the source has no such key."""
        ...


class _FileKeys:
    """Keys from a local JWKS file, read again whenever the file changes (a key added for rotation)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        # (mtime, size) of the file as last read; None while it is missing.
        self._version: tuple[int, int] | None = (-1, -1)
        self._keys: dict[str, PyJWK] = {}

    async def key_for(self, kid: str) -> PyJWK | None:
        # One stat() per request: cheaper than any cache that could miss a rotation.
        self._reload_if_changed()
        return self._keys.get(kid)

    def _reload_if_changed(self) -> None:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            version = None
        else:
            version = (stat.st_mtime_ns, stat.st_size)
        if version == self._version:
            return
        self._version = version
        if version is None:
            log.warning("auth.jwks_file_missing", path=str(self._path))
            self._keys = {}
            return
        try:
            self._keys = _signing_keys(self._path.read_bytes())
        except (OSError, msgspec.MsgspecError) as exc:
            # Keep the previous keys: the file is probably being rewritten by hand.
            log.error("auth.jwks_file_invalid", path=str(self._path), error=str(exc))
            return
        log.info("auth.jwks_loaded", source=str(self._path), kids=sorted(self._keys))


class _RemoteKeys:
    """Keys from the identity provider's JWKS URL, cached, refetched early for an unknown ``kid``."""

    def __init__(self, url: str, cache_seconds: float, clock: Callable[[], float]) -> None:
        self._url = url
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fresh_until = float("-inf")
        self._last_attempt = float("-inf")
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str) -> PyJWK | None:
        if self._clock() >= self._fresh_until:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None and self._clock() - self._last_attempt >= _MIN_REFETCH_SECONDS:
            # The provider may have rotated its keys since the last fetch.
            await self._refresh()
            key = self._keys.get(kid)
        if not self._keys:
            raise ServiceUnavailableError("The identity provider's signing keys could not be fetched.")
        return key

    async def _refresh(self) -> None:
        seen_attempt = self._last_attempt
        async with self._lock:
            if self._last_attempt != seen_attempt:
                return  # another request fetched while this one waited for the lock
            self._last_attempt = self._clock()
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, msgspec.MsgspecError) as exc:
                log.warning("auth.jwks_fetch_failed", url=self._url, error=str(exc), kept=len(self._keys))
                self._fresh_until = self._last_attempt + _RETRY_AFTER_FAILURE_SECONDS
                return
            self._keys = keys
            self._fresh_until = self._last_attempt + self._cache_seconds
            log.info("auth.jwks_loaded", source=self._url, kids=sorted(keys))

    async def _fetch(self) -> dict[str, PyJWK]:
        async with httpx.AsyncClient(timeout=_FETCH_TIMEOUT_SECONDS) as client:
            response = await client.get(self._url, headers={"Accept": "application/json"})
            response.raise_for_status()
        return _signing_keys(response.content)


# What to tell the client about a token PyJWT refused (never the token or its claims); the first match wins.
_REJECTIONS: tuple[tuple[type[PyJWTError], str], ...] = (
    (ExpiredSignatureError, "The token has expired."),
    (ImmatureSignatureError, "The token is not valid yet."),
    (InvalidIssuerError, "The token was not issued by the expected issuer."),
    (InvalidAudienceError, "The token is meant for another audience."),
    (InvalidSignatureError, "The token's signature does not verify."),
)


def _rejection(exc: PyJWTError) -> str:
    if isinstance(exc, MissingRequiredClaimError):
        return f"The token lacks the `{exc.claim}` claim."
    return next((message for kind, message in _REJECTIONS if isinstance(exc, kind)), "The token is malformed.")


class Verifier(Protocol):
    """Turns a bearer token into the caller it authenticates, or raises :class:`AuthenticationError`."""

    async def verify(self, token: str) -> object:
        """The caller ``token`` authenticates; :class:`BearerAuthMiddleware` stores it as ``scope["user"]``."""
        ...


class JwtVerifier:
    """Checks a bearer JWT against the configured JWKS and returns its verified claims.

    Services whose tokens carry other claims (telemetry's consent tokens) subclass it and build their
    own caller from :meth:`claims`, so the key handling exists once.
    """

    VERIFIED_CACHE_SIZE = 4096
    """Tokens remembered as verified: a device sends the same token every second or two, and checking its
    signature again each time was a third of a small request's CPU (docs/performance.md)."""
    VERIFIED_CACHE_SECONDS = 60.0
    """How long a verified token is trusted without a new check (never past its ``exp``): a key withdrawn
    from the JWKS stops working within this time."""

    def __init__(self, settings: AuthSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` (monotonic seconds) times the remote key cache and the verified-token cache; tests
        pass a fake one."""
        self._settings = settings
        self._clock = clock
        self._keys: _KeySource = (
            _RemoteKeys(settings.jwks_url, settings.jwks_cache_seconds, clock)
            if settings.jwks_url
            else _FileKeys(Path(settings.jwks_file))
        )
        self._verified: OrderedDict[str, tuple[dict[str, Any], float, float]] = OrderedDict()

    async def claims(self, token: str) -> dict[str, Any]:
        """The claims of ``token`` once its signature, issuer, audience and lifetime check out.

        Raises :class:`AuthenticationError` for any token that is malformed, not signed by a known key
        with an accepted algorithm, expired or not yet valid, valid for longer than
        ``AuthSettings.max_token_lifetime_seconds`` or without ``iat``, or for another issuer or audience;
        :class:`ServiceUnavailableError` when no keys can be fetched. A token verified in the last
        ``VERIFIED_CACHE_SECONDS`` and not yet expired is answered from memory.
        """
        remembered = self._verified.get(token)
        if remembered is not None:
            claims, trusted_until, expires = remembered
            if self._clock() < trusted_until and time.time() < expires + self._settings.leeway_seconds:
                self._verified.move_to_end(token)
                return dict(claims)
            del self._verified[token]
        claims = await self._verify(token)
        self._verified[token] = (claims, self._clock() + self.VERIFIED_CACHE_SECONDS, float(claims["exp"]))
        if len(self._verified) > self.VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return dict(claims)

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError as exc:
            raise AuthenticationError("The bearer token is not a JWT.") from exc
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in ACCEPTED_ALGORITHMS:
            raise AuthenticationError(f"The token must be signed with {' or '.join(ACCEPTED_ALGORITHMS)}.")
        if not isinstance(kid, str):
            raise AuthenticationError("The token does not name its signing key (`kid`).")
        key = await self._keys.key_for(kid)
        if key is None:
            raise AuthenticationError("The token is signed by an unknown key.")
        if key.algorithm_name != algorithm:
            raise AuthenticationError("The token's algorithm does not match its signing key.")
        try:
            claims = jwt.decode(
                token,
                key.key,
                # From the key, never from the token: that is what defeats algorithm confusion.
                algorithms=[key.algorithm_name],
                issuer=self._settings.issuer,
                audience=self._settings.audience,
                leeway=self._settings.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except PyJWTError as exc:
            raise AuthenticationError(_rejection(exc)) from exc
        _check_lifetime(claims, self._settings.max_token_lifetime_seconds)
        return claims


# The NumericDate claims (RFC 7519 section 2). PyJWT reads them with int(), which also takes numeric
# strings and booleans; here only JSON numbers count as times.
_TIME_CLAIMS = ("exp", "iat", "nbf")


def _seconds(value: object) -> float:
    """``value`` as a float, or NaN unless it is a JSON number that a float can hold."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float
        return math.nan


def _check_lifetime(claims: dict[str, Any], max_lifetime_seconds: int) -> None:
    """Refuse time claims that are not finite numbers, that contradict each other, or that make the token
    valid for longer than ``max_lifetime_seconds`` (counted from ``iat`` and from now).

    PyJWT has already checked ``exp`` against now and ``iat`` and ``nbf`` against now plus the leeway.
    """
    times = {name: _seconds(claims[name]) for name in _TIME_CLAIMS if name in claims}
    for name, value in times.items():
        if not math.isfinite(value):
            raise AuthenticationError(f"The token's `{name}` claim must be a number of seconds.")
    expires, issued = times["exp"], times["iat"]
    if issued > expires or times.get("nbf", issued) > expires:
        raise AuthenticationError("The token's `iat` or `nbf` comes after its `exp`.")
    if max(expires - issued, expires - time.time()) > max_lifetime_seconds:
        raise AuthenticationError(f"The token is valid for longer than the {max_lifetime_seconds} seconds allowed.")


class TokenVerifier(JwtVerifier):
    """Checks bearer tokens against the configured JWKS and says who sent them."""

    async def verify(self, token: str) -> Actor:
        """The actor ``token`` authenticates.

        Raises :class:`AuthenticationError` as :meth:`JwtVerifier.claims` does, and also when the claims
        do not describe an actor; :class:`ServiceUnavailableError` when no keys can be fetched.
        """
        return _actor(await self.claims(token))


def _actor(claims: dict[str, Any]) -> Actor:
    try:
        parsed = msgspec.convert(claims, _Claims, strict=True)
    except msgspec.ValidationError as exc:
        raise AuthenticationError(f"The token's claims are invalid: {exc}") from exc
    user_id = int(parsed.sub)
    if user_id > _BIGINT_MAX:
        raise AuthenticationError("The token's claims are invalid: `sub` is out of range.")
    if (parsed.role == "patient") != (parsed.patient_id is not None):
        raise AuthenticationError("The token's claims are invalid: `patient_id` belongs to patients only.")
    return Actor(
        user_id=user_id,
        role=parsed.role,
        organization_id=parsed.org_id,
        patient_id=parsed.patient_id,
        # The flag means nothing for other roles; dropping it keeps a stray claim from granting anything.
        platform_admin=parsed.platform_admin and parsed.role == "admin",
    )


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


def unauthenticated_response(_: Request[Any, Any, Any], exc: AuthenticationError) -> Response[bytes]:
    """The 401 problem for ``exc`` with its ``WWW-Authenticate`` challenge; also the exception handler of a
    route that verifies a token it finds elsewhere than in the header (telemetry's beacon)."""
    return problem_response(
        Problem(type=f"{PROBLEM_TYPE_BASE}{exc.slug}", title=exc.title, status=int(exc.status), detail=exc.detail),
        headers={"WWW-Authenticate": exc.challenge},
    )


def auth_middleware(verifier: Verifier) -> BearerAuthMiddleware:
    """The middleware to list in ``Litestar(middleware=[...])``, after the request-id middleware."""
    return BearerAuthMiddleware(verifier)


def current_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The authenticated caller of ``connection``.

    Raises ``ImproperlyConfiguredException`` (a 500) on a route the middleware does not cover: that is a
    bug in the route's set-up, not something a client did.
    """
    actor = connection.scope.get("user")
    if not isinstance(actor, Actor):
        raise ImproperlyConfiguredException("no authenticated actor: the route is not behind auth_middleware")
    return actor


class RoleGuard:
    """A guard that admits only callers with one of ``roles`` (``check`` refuses the others) and says so:
    the OpenAPI document states each operation's roles from its role guards
    (:func:`service_common.openapi.document_operations`)."""

    def __init__(
        self,
        roles: tuple[str, ...],
        check: Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]],
    ) -> None:
        self.roles = roles
        self._check = check

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        await self._check(connection, handler)


def allow_roles(*roles: Role) -> RoleGuard:
    """A guard that lets only callers with one of ``roles`` through; others get a 403 problem."""
    unknown = set(roles) - set(get_args(Role))
    if unknown or not roles:
        raise ValueError(f"allow_roles needs roles among {get_args(Role)}, got {roles}")
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # A controller's guards also cover Litestar's automatic OPTIONS handler, which needs no token.
        if connection.scope.get("method") == "OPTIONS":
            return
        if current_actor(connection).role not in allowed:
            raise ForbiddenError(f"This operation is for the roles {', '.join(sorted(allowed))}.")

    return RoleGuard(tuple(sorted(allowed)), guard)


IDENTITY_PROVIDER_SCHEME = "A JWT from the identity provider, signed with EdDSA or RS256."
"""The bearer scheme's description unless a service states its own token."""


def bearer_security_components(description: str = IDENTITY_PROVIDER_SCHEME) -> Components:
    """OpenAPI ``components`` declaring the bearer-JWT scheme, described by ``description`` (which token,
    and how a client gets it), for ``OpenAPIConfig(components=...)``."""
    return Components(
        security_schemes={
            BEARER_SCHEME_NAME: SecurityScheme(
                type="http",
                scheme="bearer",
                bearer_format="JWT",
                description=description,
            )
        }
    )


def bearer_security() -> list[SecurityRequirement]:
    """The OpenAPI ``security`` requirement naming the bearer scheme, for ``OpenAPIConfig(security=...)``."""
    return [{BEARER_SCHEME_NAME: []}]


__all__ = [
    "ACCEPTED_ALGORITHMS",
    "BEARER_SCHEME_NAME",
    "Actor",
    "AuthSettings",
    "AuthenticationError",
    "BearerAuthMiddleware",
    "JwtVerifier",
    "Role",
    "RoleGuard",
    "TokenVerifier",
    "Verifier",
    "allow_roles",
    "auth_middleware",
    "bearer_security",
    "bearer_security_components",
    "current_actor",
    "unauthenticated_response",
]

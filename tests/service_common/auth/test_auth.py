"""Bearer-JWT authentication: who gets in, who is refused with which problem, and how keys rotate."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm
from litestar import Litestar, Request, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.openapi import OpenAPIConfig
from litestar.testing import TestClient
from service_common.auth.actor import Actor, current_actor
from service_common.auth.errors import AuthenticationError
from service_common.auth.guards import allow_roles
from service_common.auth.middleware import auth_middleware
from service_common.auth.openapi import bearer_security, bearer_security_components
from service_common.auth.settings import AuthSettings
from service_common.auth.verifier import JwtVerifier, TokenVerifier
from service_common.errors import exception_handlers
from service_common.health import healthz
from service_common.requests import request_context_middleware
from service_common.settings import SettingsError, from_env

from tests.service_common.fake_clock import FakeClock
from tools.tokens import PRIVATE_KEY_FILE, ensure_dev_keys, jwk_thumbprint, main, mint_token, public_jwk

UNAUTHENTICATED = "https://problems.telerehab.example/unauthenticated"
FORBIDDEN = "https://problems.telerehab.example/forbidden"
INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'


# The app under test ---------------------------------------------------------------------------------------


@get("/me", sync_to_thread=False)
def whoami(request: Request[Actor, Any, Any]) -> Actor:
    return current_actor(request)


@get("/exercises", guards=[allow_roles("specialist", "admin")], sync_to_thread=False)
def list_exercises() -> dict[str, list[str]]:
    return {"exercises": ["heel slide"]}


@get("/invitations/open", opt={"exclude_from_auth": True}, sync_to_thread=False)
def open_invitation() -> dict[str, str]:
    return {"status": "open"}


@get("/misconfigured", opt={"exclude_from_auth": True}, guards=[allow_roles("admin")], sync_to_thread=False)
def misconfigured() -> dict[str, str]:
    return {"status": "unreachable"}


@websocket("/live")
async def live(socket: WebSocket[Actor, Any, Any]) -> None:
    await socket.accept()
    await socket.send_json({"user_id": current_actor(socket).user_id})
    await socket.close()


def make_app(verifier: TokenVerifier) -> Litestar:
    return Litestar(
        route_handlers=[whoami, list_exercises, open_invitation, misconfigured, live, healthz],
        exception_handlers=exception_handlers(),
        middleware=[request_context_middleware, auth_middleware(verifier)],
        openapi_config=OpenAPIConfig(
            title="auth test",
            version="0",
            path="/schema",
            components=bearer_security_components(),
            security=bearer_security(),
        ),
        debug=False,
    )


# Keys and tokens ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DevKeys:
    directory: Path
    jwks_file: Path
    kid: str
    private_key: Ed25519PrivateKey

    def settings(self) -> AuthSettings:
        return AuthSettings(jwks_file=str(self.jwks_file))

    def token(self, role: str = "specialist", **overrides: Any) -> str:
        patient_id = 123 if role == "patient" else None
        arguments: dict[str, Any] = {"user_id": 5, "organization_id": 1, "patient_id": patient_id}
        return mint_token(self.directory, role=role, **{**arguments, **overrides})  # type: ignore[arg-type]

    def signed(self, **overrides: Any) -> str:
        """A token of :meth:`claims` with ``overrides`` (any JSON, even what PyJWT refuses), signed."""
        return crafted({"alg": "EdDSA", "typ": "JWT", "kid": self.kid}, self.claims(**overrides), self.private_key.sign)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "telerehab-dev",
            "aud": "telerehab-api",
            "sub": "5",
            "role": "specialist",
            "org_id": 1,
            "iat": now,
            "exp": now + 600,
        }
        return {**claims, **overrides}


def dev_keys(directory: Path) -> DevKeys:
    jwks_file = ensure_dev_keys(directory)
    private_key = serialization.load_pem_private_key((directory / PRIVATE_KEY_FILE).read_bytes(), None)
    assert isinstance(private_key, Ed25519PrivateKey)
    return DevKeys(directory, jwks_file, public_jwk(private_key)["kid"], private_key)


@pytest.fixture
def keys(tmp_path: Path) -> DevKeys:
    return dev_keys(tmp_path / "keys")


@pytest.fixture
def client(keys: DevKeys) -> Iterator[TestClient[Litestar]]:
    with TestClient(make_app(TokenVerifier(keys.settings()))) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def crafted(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes] | None) -> str:
    """A JWT assembled by hand, so it can carry what PyJWT refuses to produce."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = sign(signing_input.encode("ascii")) if sign else b""
    return f"{signing_input}.{b64url(signature)}"


def assert_problem(response: httpx.Response, status: int, problem_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == problem_type
    return body


# Who gets in ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "overrides", "expected"),
    [
        ("specialist", {}, {"role": "specialist", "patient_id": None, "platform_admin": False}),
        ("patient", {"patient_id": 123}, {"role": "patient", "patient_id": 123, "platform_admin": False}),
        ("admin", {}, {"role": "admin", "patient_id": None, "platform_admin": False}),
        ("admin", {"platform_admin": True}, {"role": "admin", "patient_id": None, "platform_admin": True}),
    ],
)
def test_a_valid_token_makes_its_actor_the_user(
    client: TestClient[Litestar],
    keys: DevKeys,
    role: str,
    overrides: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    response = client.get("/me", headers=bearer(keys.token(role, user_id=42, organization_id=7, **overrides)))
    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": 42, "organization_id": 7, **expected}


def test_platform_admin_means_nothing_for_other_roles(client: TestClient[Litestar], keys: DevKeys) -> None:
    response = client.get("/me", headers=bearer(keys.token("specialist", platform_admin=True)))
    assert response.json()["platform_admin"] is False


def test_scheme_name_is_case_insensitive(client: TestClient[Litestar], keys: DevKeys) -> None:
    response = client.get("/me", headers={"Authorization": f"bearer {keys.token()}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("iat_offset", "exp_offset"),
    [(0, 8 * 3600), (-8 * 3600 + 60, 60), (0, 600.5)],
    ids=["the longest lifetime", "issued a lifetime ago", "exp with a fraction"],
)
def test_a_lifetime_within_the_maximum_is_accepted(
    client: TestClient[Litestar], keys: DevKeys, iat_offset: float, exp_offset: float
) -> None:
    now = int(time.time())
    token = keys.token(iat=now + iat_offset, exp=now + exp_offset)
    assert client.get("/me", headers=bearer(token)).status_code == 200


def test_the_maximum_lifetime_is_a_setting(keys: DevKeys) -> None:
    token = keys.token(ttl_seconds=600)
    assert asyncio.run(TokenVerifier(keys.settings()).verify(token)).user_id == 5
    short = msgspec.structs.replace(keys.settings(), max_token_lifetime_seconds=300)
    with pytest.raises(AuthenticationError, match="longer than the 300 seconds"):
        asyncio.run(TokenVerifier(short).verify(token))


def test_leeway_forgives_a_little_clock_skew(client: TestClient[Litestar], keys: DevKeys) -> None:
    response = client.get("/me", headers=bearer(keys.token(iat=int(time.time()) - 600, exp=int(time.time()) - 10)))
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["specialist", "admin"])
def test_guard_lets_the_named_roles_through(client: TestClient[Litestar], keys: DevKeys, role: str) -> None:
    response = client.get("/exercises", headers=bearer(keys.token(role)))
    assert response.status_code == 200
    assert response.json() == {"exercises": ["heel slide"]}


def test_guard_refuses_other_roles_with_a_403_problem(client: TestClient[Litestar], keys: DevKeys) -> None:
    response = client.get("/exercises", headers=bearer(keys.token("patient")))
    body = assert_problem(response, 403, FORBIDDEN)
    assert "admin" in body["detail"]
    assert "specialist" in body["detail"]


@pytest.mark.parametrize("path", ["/healthz", "/schema/openapi.json", "/invitations/open"])
def test_public_paths_need_no_token(client: TestClient[Litestar], path: str) -> None:
    assert client.get(path).status_code == 200


def test_openapi_documents_the_bearer_scheme(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    assert document["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT from the identity provider, signed with EdDSA or RS256.",
    }
    assert document["security"] == [{"BearerToken": []}]


def test_a_guard_on_a_route_outside_the_middleware_is_a_server_error(client: TestClient[Litestar]) -> None:
    assert_problem(client.get("/misconfigured"), 500, "https://problems.telerehab.example/internal-error")


def test_websockets_are_authenticated_too(client: TestClient[Litestar], keys: DevKeys) -> None:
    with client.websocket_connect("/live", headers=bearer(keys.token(user_id=9))) as socket:
        assert socket.receive_json() == {"user_id": 9}
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/live") as socket:
        socket.receive_json()
    assert refused.value.code == 1008


# Who is refused -------------------------------------------------------------------------------------------


def _hs256_with(secret: bytes) -> Callable[[bytes], bytes]:
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def _other_ed25519_key_same_kid(keys: DevKeys) -> dict[str, str]:
    forger = Ed25519PrivateKey.generate()
    return bearer(jwt.encode(keys.claims(), forger, algorithm="EdDSA", headers={"kid": keys.kid}))


def _rs256_under_the_ed25519_kid(keys: DevKeys) -> dict[str, str]:
    rsa_key = generate_private_key(public_exponent=65537, key_size=2048)
    return bearer(jwt.encode(keys.claims(), rsa_key, algorithm="RS256", headers={"kid": keys.kid}))


def _tampered_org(keys: DevKeys) -> dict[str, str]:
    header, payload, signature = keys.token(organization_id=1).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["org_id"] = 2
    return bearer(f"{header}.{b64url(json.dumps(claims).encode())}.{signature}")


def _public_pem(keys: DevKeys) -> bytes:
    return keys.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _raw_public_key(keys: DevKeys) -> bytes:
    return keys.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


REFUSED: dict[str, Callable[[DevKeys], dict[str, str]]] = {
    "garbage": lambda keys: bearer("not-a-jwt"),
    "three garbage parts": lambda keys: bearer("a.b.c"),
    "expired": lambda keys: bearer(keys.token(ttl_seconds=-120)),
    "nbf in the future": lambda keys: bearer(keys.token(nbf=int(time.time()) + 3600)),
    "wrong issuer": lambda keys: bearer(keys.token(issuer="someone-else")),
    "wrong audience": lambda keys: bearer(keys.token(audience="another-api")),
    "alg none": lambda keys: bearer(crafted({"alg": "none", "typ": "JWT", "kid": keys.kid}, keys.claims(), None)),
    "alg none without kid": lambda keys: bearer(crafted({"alg": "none"}, keys.claims(), None)),
    "HS256 with the public key PEM": lambda keys: bearer(
        crafted({"alg": "HS256", "kid": keys.kid}, keys.claims(), _hs256_with(_public_pem(keys)))
    ),
    "HS256 with the raw public key": lambda keys: bearer(
        crafted({"alg": "HS256", "kid": keys.kid}, keys.claims(), _hs256_with(_raw_public_key(keys)))
    ),
    "alg as a list": lambda keys: bearer(crafted({"alg": ["EdDSA"], "kid": keys.kid}, keys.claims(), None)),
    "another Ed25519 key with the same kid": _other_ed25519_key_same_kid,
    "RS256 under the Ed25519 key's kid": _rs256_under_the_ed25519_kid,
    "unknown kid": lambda keys: bearer(
        jwt.encode(keys.claims(), keys.private_key, algorithm="EdDSA", headers={"kid": "retired-key"})
    ),
    "no kid": lambda keys: bearer(jwt.encode(keys.claims(), keys.private_key, algorithm="EdDSA")),
    "tampered org_id": _tampered_org,
    "patient without patient_id": lambda keys: bearer(keys.token("patient", patient_id=None)),
    "specialist with patient_id": lambda keys: bearer(keys.token("specialist", patient_id=3)),
    "org_id as a string": lambda keys: bearer(keys.token(org_id="abc")),
    "org_id as a numeric string": lambda keys: bearer(keys.token(org_id="1")),
    "org_id as a boolean": lambda keys: bearer(keys.token(org_id=True)),
    "org_id zero": lambda keys: bearer(keys.token(org_id=0)),
    "sub not a number": lambda keys: bearer(keys.token(sub="alice")),
    "sub as an integer": lambda keys: bearer(keys.token(sub=5)),
    "sub beyond bigint": lambda keys: bearer(keys.token(sub=str(2**63))),
    "unknown role": lambda keys: bearer(keys.token(role="superuser")),
    "platform_admin as a string": lambda keys: bearer(keys.signed(role="admin", platform_admin="yes")),
    "missing exp": lambda keys: bearer(keys.token(exp=None)),
    "exp as a string": lambda keys: bearer(keys.token(exp="tomorrow")),
    # Lifetimes and time claims (issue 15, item 9): PyJWT reads these with int(), so before the lifetime
    # check a numeric string, a boolean or a date centuries ahead got in (and 10**400 was a 500).
    "exp a century ahead": lambda keys: bearer(keys.token(exp=int(time.time()) + 100 * 365 * 86400)),
    "exp 1e300": lambda keys: bearer(keys.token(exp=1e300)),
    "exp beyond any float": lambda keys: bearer(keys.token(exp=10**400)),
    "exp as a numeric string": lambda keys: bearer(keys.token(exp=str(int(time.time()) + 600))),
    "iat as a numeric string": lambda keys: bearer(keys.token(iat=str(int(time.time())))),
    "nbf as a numeric string": lambda keys: bearer(keys.token(nbf=str(int(time.time()) - 60))),
    "nbf as a boolean": lambda keys: bearer(keys.token(nbf=True)),
    "missing iat": lambda keys: bearer(keys.token(iat=None)),
    "iat after exp": lambda keys: bearer(keys.signed(iat=int(time.time()) + 20, exp=int(time.time()) + 10)),
    "lifetime over the maximum": lambda keys: bearer(
        keys.token(ttl_seconds=AuthSettings().max_token_lifetime_seconds + 1)
    ),
    "lifetime from now over the maximum": lambda keys: bearer(
        keys.token(iat=int(time.time()) + 20, exp=int(time.time()) + AuthSettings().max_token_lifetime_seconds + 10)
    ),
    "missing sub": lambda keys: bearer(keys.token(sub=None)),
    "missing iss": lambda keys: bearer(keys.token(iss=None)),
    "claims not an object": lambda keys: bearer(
        jwt.api_jws.encode(b"[1, 2]", keys.private_key, algorithm="EdDSA", headers={"kid": keys.kid})
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_token_is_a_401_problem_with_a_challenge(client: TestClient[Litestar], keys: DevKeys, case: str) -> None:
    response = client.get("/me", headers=REFUSED[case](keys))
    body = assert_problem(response, 401, UNAUTHENTICATED)
    assert body["title"] == "Authentication required"
    assert response.headers["www-authenticate"] == INVALID_TOKEN_CHALLENGE


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer   "},
    ],
    ids=["no header", "basic scheme", "bearer without token", "bearer with blanks"],
)
def test_a_request_without_a_bearer_token_gets_the_bare_challenge(
    client: TestClient[Litestar], headers: dict[str, str]
) -> None:
    response = client.get("/me", headers=headers)
    assert_problem(response, 401, UNAUTHENTICATED)
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_refused_token_never_reaches_the_guard(client: TestClient[Litestar], keys: DevKeys) -> None:
    response = client.get("/exercises", headers=bearer(keys.token("specialist", ttl_seconds=-120)))
    assert_problem(response, 401, UNAUTHENTICATED)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
_claim_names = st.sampled_from(
    ["sub", "role", "org_id", "patient_id", "platform_admin", "exp", "nbf", "iat", "iss", "aud"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(_claim_names, _json_values, max_size=4), text=st.text(max_size=60))
def test_any_claims_or_text_give_an_actor_or_an_authentication_error(
    keys: DevKeys, changes: dict[str, Any], text: str
) -> None:
    verifier = TokenVerifier(keys.settings())
    for token in (keys.signed(**changes), text):
        try:
            actor = asyncio.run(verifier.verify(token))
        except AuthenticationError:
            continue
        assert actor.organization_id >= 1


# Keys rotate ----------------------------------------------------------------------------------------------


def test_a_key_added_to_the_jwks_file_is_accepted_without_a_restart(
    client: TestClient[Litestar], keys: DevKeys, tmp_path: Path
) -> None:
    assert client.get("/me", headers=bearer(keys.token())).status_code == 200
    successor = dev_keys(tmp_path / "successor")
    new_token = successor.token()
    assert_problem(client.get("/me", headers=bearer(new_token)), 401, UNAUTHENTICATED)

    published = json.loads(keys.jwks_file.read_text())
    published["keys"] += json.loads(successor.jwks_file.read_text())["keys"]
    keys.jwks_file.write_text(json.dumps(published))

    assert client.get("/me", headers=bearer(new_token)).status_code == 200
    assert client.get("/me", headers=bearer(keys.token())).status_code == 200


def test_rs256_keys_are_accepted(client: TestClient[Litestar], keys: DevKeys) -> None:
    rsa_key = generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    kid = jwk_thumbprint(jwk)
    published = json.loads(keys.jwks_file.read_text())
    published["keys"].append({**jwk, "kid": kid, "alg": "RS256"})
    keys.jwks_file.write_text(json.dumps(published))

    token = jwt.encode(keys.claims(sub="8"), rsa_key, algorithm="RS256", headers={"kid": kid})
    response = client.get("/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == 8


def test_hmac_keys_in_the_jwks_are_ignored(client: TestClient[Litestar], keys: DevKeys) -> None:
    secret = b"a shared secret that must never verify anything"
    published = json.loads(keys.jwks_file.read_text())
    published["keys"].append({"kty": "oct", "kid": "hmac", "k": b64url(secret)})
    keys.jwks_file.write_text(json.dumps(published))

    token = jwt.encode(keys.claims(), secret, algorithm="HS256", headers={"kid": "hmac"})
    assert_problem(client.get("/me", headers=bearer(token)), 401, UNAUTHENTICATED)
    assert client.get("/me", headers=bearer(keys.token())).status_code == 200


def test_a_missing_jwks_file_refuses_every_token(keys: DevKeys, tmp_path: Path) -> None:
    verifier = TokenVerifier(AuthSettings(jwks_file=str(tmp_path / "absent.json")))
    with TestClient(make_app(verifier)) as client:
        assert_problem(client.get("/me", headers=bearer(keys.token())), 401, UNAUTHENTICATED)


class JwksServer(ThreadingHTTPServer):
    """Serves ``document`` at any path and counts the requests."""

    document: bytes = b'{"keys": []}'
    status: int = 200
    fetches: int = 0

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/.well-known/jwks.json"

    def publish(self, *jwks_files: Path) -> None:
        keys = [key for path in jwks_files for key in json.loads(path.read_text())["keys"]]
        self.document = json.dumps({"keys": keys}).encode()


class JwksHandler(BaseHTTPRequestHandler):
    server: JwksServer

    def do_GET(self) -> None:
        self.server.fetches += 1
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.document)))
        self.end_headers()
        self.wfile.write(self.server.document)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def jwks_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[JwksServer]:
    for variable in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(variable, "127.0.0.1")
    server = JwksServer(("127.0.0.1", 0), JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_unknown_kid_makes_the_verifier_refetch_the_jwks_once(
    jwks_server: JwksServer, keys: DevKeys, tmp_path: Path
) -> None:
    clock = FakeClock()
    successor = dev_keys(tmp_path / "successor")
    jwks_server.publish(keys.jwks_file)
    verifier = TokenVerifier(AuthSettings(jwks_url=jwks_server.url, jwks_cache_seconds=300), clock=clock)
    with TestClient(make_app(verifier)) as client:
        assert client.get("/me", headers=bearer(keys.token())).status_code == 200
        assert client.get("/me", headers=bearer(keys.token())).status_code == 200
        assert jwks_server.fetches == 1

        jwks_server.publish(keys.jwks_file, successor.jwks_file)
        clock.now += 10  # within 30 s of the last fetch: an unknown kid does not refetch yet
        assert_problem(client.get("/me", headers=bearer(successor.token())), 401, UNAUTHENTICATED)
        assert jwks_server.fetches == 1

        clock.now += 25
        assert client.get("/me", headers=bearer(successor.token())).status_code == 200
        assert jwks_server.fetches == 2

        clock.now += 1
        forged = jwt.encode(keys.claims(), keys.private_key, algorithm="EdDSA", headers={"kid": "made-up"})
        assert_problem(client.get("/me", headers=bearer(forged)), 401, UNAUTHENTICATED)
        assert jwks_server.fetches == 2

        clock.now += 300  # the cache expires
        assert client.get("/me", headers=bearer(keys.token())).status_code == 200
        assert jwks_server.fetches == 3


def test_an_unreachable_identity_provider_is_a_503_until_it_answers(jwks_server: JwksServer, keys: DevKeys) -> None:
    clock = FakeClock()
    jwks_server.publish(keys.jwks_file)
    jwks_server.status = 500
    verifier = TokenVerifier(AuthSettings(jwks_url=jwks_server.url), clock=clock)
    with TestClient(make_app(verifier)) as client:
        response = client.get("/me", headers=bearer(keys.token()))
        assert_problem(response, 503, "https://problems.telerehab.example/service-unavailable")
        client.get("/me", headers=bearer(keys.token()))
        assert jwks_server.fetches == 1  # failures are retried after a pause, not on every request

        jwks_server.status = 200
        clock.now += 5
        assert client.get("/me", headers=bearer(keys.token())).status_code == 200

        jwks_server.status = 500
        clock.now += 301  # the refetch fails: the keys already fetched stay in use
        assert client.get("/me", headers=bearer(keys.token())).status_code == 200
        assert jwks_server.fetches == 3


# Settings and guards built wrong --------------------------------------------------------------------------


def test_settings_come_from_auth_variables() -> None:
    loaded = from_env(AuthSettings, "AUTH_", {"AUTH_JWKS_URL": "https://idp.example/jwks", "AUTH_LEEWAY_SECONDS": "5"})
    assert loaded == AuthSettings(jwks_url="https://idp.example/jwks", leeway_seconds=5)
    with pytest.raises(SettingsError, match="AUTH_LEEWAY_SECONDS"):
        from_env(AuthSettings, "AUTH_", {"AUTH_LEEWAY_SECONDS": "-1"})


def test_allow_roles_refuses_unknown_roles() -> None:
    with pytest.raises(ValueError, match="superuser"):
        allow_roles("specialist", "superuser")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs roles"):
        allow_roles()


# The development key tool ---------------------------------------------------------------------------------


def test_kid_is_the_rfc_7638_thumbprint() -> None:
    # RFC 8037, appendix A.3: the thumbprint of the Ed25519 key of appendix A.2.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_dev_keys_are_created_once_private_to_their_owner(keys: DevKeys) -> None:
    assert (keys.directory / PRIVATE_KEY_FILE).stat().st_mode & 0o777 == 0o600
    published = json.loads(keys.jwks_file.read_text())["keys"]
    assert [key["kid"] for key in published] == [keys.kid]
    assert "d" not in published[0]

    before = (keys.directory / PRIVATE_KEY_FILE).read_bytes(), keys.jwks_file.read_bytes()
    assert ensure_dev_keys(keys.directory) == keys.jwks_file
    assert ((keys.directory / PRIVATE_KEY_FILE).read_bytes(), keys.jwks_file.read_bytes()) == before


def test_cli_prints_a_token_the_verifier_accepts(keys: DevKeys, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--role", "patient", "--org", "3", "--user", "11", "--patient", "77", "--dir", str(keys.directory)])
    token = capsys.readouterr().out.strip()
    actor = asyncio.run(TokenVerifier(keys.settings()).verify(token))
    assert actor == Actor(user_id=11, role="patient", organization_id=3, patient_id=77)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--role", "patient", "--org", "1", "--user", "2"],
        ["--role", "specialist", "--org", "1", "--user", "2", "--patient", "3"],
        ["--role", "specialist", "--org", "1", "--user", "2", "--platform-admin"],
    ],
    ids=["patient without --patient", "--patient for a specialist", "--platform-admin for a specialist"],
)
def test_cli_refuses_tokens_the_services_would_refuse(
    keys: DevKeys, arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*arguments, "--dir", str(keys.directory)])
    assert capsys.readouterr().out == ""


def test_actor_is_a_frozen_struct() -> None:
    actor = Actor(user_id=1, role="admin", organization_id=1, patient_id=None, platform_admin=True)
    with pytest.raises(AttributeError):
        actor.role = "patient"  # type: ignore[misc]
    assert msgspec.json.decode(msgspec.json.encode(actor), type=Actor) == actor


# The verified-token cache --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_verified_token_is_trusted_for_a_minute_then_checked_again(keys: DevKeys) -> None:
    clock = FakeClock()
    verifier = JwtVerifier(keys.settings(), clock=clock)
    token = keys.token()
    assert (await verifier.claims(token))["sub"] == "5"
    # The key is withdrawn: the remembered token still passes within the minute, not after it.
    keys.jwks_file.write_text(json.dumps({"keys": []}))
    clock.now += JwtVerifier.VERIFIED_CACHE_SECONDS - 1
    assert (await verifier.claims(token))["sub"] == "5"
    clock.now += 2
    with pytest.raises(AuthenticationError):
        await verifier.claims(token)


@pytest.mark.anyio
async def test_a_remembered_token_still_expires(keys: DevKeys) -> None:
    verifier = JwtVerifier(msgspec.structs.replace(keys.settings(), leeway_seconds=0), clock=FakeClock())
    token = keys.token(exp=int(time.time()) + 1)
    await verifier.claims(token)
    await asyncio.sleep(1.5)
    with pytest.raises(AuthenticationError):
        await verifier.claims(token)


@pytest.mark.anyio
async def test_the_cache_is_bounded_and_hands_out_copies(keys: DevKeys) -> None:
    settings = msgspec.structs.replace(keys.settings(), verified_token_cache_size=64)
    verifier = JwtVerifier(settings, clock=FakeClock())
    first = await verifier.claims(keys.token(sub="1"))
    first["sub"] = "tampered"
    assert (await verifier.claims(keys.token(sub="1")))["sub"] == "1"
    for number in range(settings.verified_token_cache_size + 10):
        await verifier.claims(keys.signed(sub=str(number), jti=str(number)))
    assert len(verifier._verified) == settings.verified_token_cache_size

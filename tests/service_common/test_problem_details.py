"""Every error is an RFC 9457 problem+json response; validation errors name the field at fault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from contracts.types import PainLevel
from litestar import get, post
from litestar.params import FromPath, JSONBody
from litestar.testing import TestClient
from service_common.app import service_app
from service_common.auth.settings import AuthSettings
from service_common.auth.verifier import TokenVerifier
from service_common.errors import ConflictError, NotFoundError
from service_common.logging import LogSettings

from tools.tokens import mint_token


class Reading(msgspec.Struct, forbid_unknown_fields=True):
    pain_level: PainLevel
    note: str = ""


class Batch(msgspec.Struct):
    readings: list[Reading]


@post("/readings", sync_to_thread=False)
def create_reading(data: JSONBody[Batch]) -> dict[str, int]:
    return {"count": len(data.readings)}


@get("/plans/{plan_id:int}", sync_to_thread=False)
def get_plan(plan_id: FromPath[int]) -> dict[str, int]:
    if plan_id == 1:
        raise NotFoundError("treatment plan 1 does not exist")
    if plan_id == 2:
        raise ConflictError("the plan is published")
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture
def client(dev_keys: Path) -> Iterator[TestClient]:  # type: ignore[type-arg]
    app = service_app(
        title="t",
        version="0",
        description="",
        route_handlers=[create_reading, get_plan],
        lifespan=[],
        state={},
        log_settings=LogSettings(format="json"),
        max_body_bytes=16_384,
        verifier=TokenVerifier(AuthSettings(jwks_file=str(dev_keys / "jwks.json"))),
    )
    with TestClient(app) as test_client:
        token = mint_token(dev_keys, user_id=1, role="admin", organization_id=1)
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


def assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert isinstance(body["type"], str)
    return body


def test_validation_error_names_the_nested_field(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/readings", json={"readings": [{"pain_level": 3}, {"pain_level": 11}]})
    body = assert_problem(response, 422)
    assert body["type"] == "https://problems.telerehab.example/validation-error"
    assert body["errors"] == [{"field": "readings[1].pain_level", "message": "Expected `int` <= 10"}]


def test_unknown_field_is_rejected_and_named(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/readings", json={"readings": [{"pain_level": 1, "organization_id": 7}]})
    body = assert_problem(response, 422)
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors[0]["field"] == "readings[0]"
    assert "organization_id" in errors[0]["message"]


def test_malformed_json_is_a_400_problem(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/readings", content=b'{"readings": [', headers={"content-type": "application/json"})
    body = assert_problem(response, 400)
    assert body["type"] == "https://problems.telerehab.example/malformed-body"


@pytest.mark.parametrize(
    "body",
    [
        b'{"readings":' + b"[" * 5000,
        b'{"unknown":' + b"[" * 5000 + b"]" * 5000 + b', "readings": []}',
        b"[" * 5000 + b"]" * 5000,
    ],
    ids=["unterminated", "deep-unknown-field", "deep-top-level"],
)
def test_deeply_nested_json_is_a_400_problem_not_a_crash(client: TestClient, body: bytes) -> None:  # type: ignore[type-arg]
    response = client.post("/readings", content=body, headers={"content-type": "application/json"})
    # Either verdict is right for such a body (unparseable, or of the wrong shape); a 500 is not.
    assert_problem(response, 400 if response.status_code == 400 else 422)


def test_wrong_path_parameter_type_names_the_parameter(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/plans/abc")
    body = assert_problem(response, 404)
    assert body["type"] == "about:blank"


def test_domain_errors_keep_their_status_and_type(client: TestClient) -> None:  # type: ignore[type-arg]
    not_found = assert_problem(client.get("/plans/1"), 404)
    conflict = assert_problem(client.get("/plans/2"), 409)
    assert not_found["type"] == "https://problems.telerehab.example/not-found"
    assert not_found["detail"] == "treatment plan 1 does not exist"
    assert conflict["type"] == "https://problems.telerehab.example/conflict"


def test_unexpected_errors_hide_their_message(client: TestClient) -> None:  # type: ignore[type-arg]
    body = assert_problem(client.get("/plans/3"), 500)
    assert "hunter2" not in str(body)
    assert "RuntimeError" not in str(body)


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:  # type: ignore[type-arg]
    assert_problem(client.get("/nowhere"), 404)
    response = client.delete("/readings")
    assert_problem(response, 405)
    assert "POST" in response.headers["allow"]


def test_a_body_over_the_limit_is_413(client: TestClient) -> None:  # type: ignore[type-arg]
    big = b'{"readings": [' + b'{"pain_level": 1},' * 1000 + b'{"pain_level": 1}]}'
    assert_problem(client.post("/readings", content=big, headers={"content-type": "application/json"}), 413)

"""Problem details and health bodies encode to the shapes clients and probes expect."""

import msgspec
import pytest
from contracts.health import Health, Readiness
from contracts.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, FieldError, Problem


def test_problem_omits_unset_members() -> None:
    problem = Problem(title="Not Found", status=404)
    assert msgspec.json.encode(problem) == b'{"title":"Not Found","status":404}'


def test_validation_problem_lists_fields_at_fault() -> None:
    problem = Problem(
        type=f"{PROBLEM_TYPE_BASE}validation",
        title="Request body is invalid",
        status=422,
        detail="2 fields are invalid",
        errors=[
            FieldError(field="frequency_per_week", message="Expected `int` <= 14"),
            FieldError(field="frames[0].landmark_x", message="Expected `array` of length <= 33"),
        ],
    )

    decoded = msgspec.json.decode(msgspec.json.encode(problem), type=Problem)

    assert decoded == problem
    assert decoded.type == "https://problems.telerehab.example/validation"
    assert decoded.errors is not None
    assert [error.field for error in decoded.errors] == ["frequency_per_week", "frames[0].landmark_x"]


def test_problem_defaults_to_about_blank() -> None:
    decoded = msgspec.json.decode(b'{"title":"Conflict","status":409}', type=Problem)
    assert decoded.type == "about:blank"
    assert (decoded.detail, decoded.instance, decoded.errors) == (None, None, None)


@pytest.mark.parametrize("status", [200, 399, 600])
def test_problem_status_is_an_error_status(status: int) -> None:
    with pytest.raises(msgspec.ValidationError, match="at `\\$\\.status`"):
        msgspec.json.decode(f'{{"title":"x","status":{status}}}'.encode(), type=Problem)


def test_problem_media_type() -> None:
    assert PROBLEM_MEDIA_TYPE == "application/problem+json"


def test_health_bodies() -> None:
    assert msgspec.json.encode(Health()) == b'{"status":"ok"}'
    readiness = msgspec.json.decode(
        b'{"status":"unavailable","checks":{"postgres":"ok","clickhouse":"timeout"}}', type=Readiness
    )
    assert readiness.status == "unavailable"
    assert readiness.checks == {"postgres": "ok", "clickhouse": "timeout"}
    with pytest.raises(msgspec.ValidationError, match="at `\\$\\.status`"):
        msgspec.json.decode(b'{"status":"degraded","checks":{}}', type=Readiness)

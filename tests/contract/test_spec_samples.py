"""Every JSON sample of the product specification (``../shared/spec/*.md``), run against the live apps.

The samples are read out of the markdown at test time, never copied here. A sample starts at a line whose
first character is ``{`` or ``[`` followed by the start of a JSON value or a closing bracket (so the prose's
``[TODO]`` is none) and ends where its brackets balance. It belongs to the nearest preceding
``METHOD /v1/...`` line; it is a request or a response sample by the nearest ``Request:`` / ``Response:``
marker between that line and the sample, and a request when there is none (the telemetry document shows
the bodies a device posts). Placeholders become real values: ``[...]`` an empty array (any content), ids
and ``"550e8400-..."`` strings the seeded objects' ids, start dates today's (the spec's February 2026 dates
would make the enrollment's whole window past, which is refused). Telemetry samples go to the telemetry app
with the patient's token from core-api's ``POST /v1/telemetry/token``, verified against core-api's JWKS.

A request sample must be accepted (2xx). For a response sample, every key at every nesting level must be
present in the real response with the same JSON type; a ``null`` in the sample leaves the type open, and
array items are compared item by item (a sample's extra items against the real array's last one).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings
from telemetry.app import create_app as create_telemetry
from telemetry.settings import HttpSettings, IngestSettings, Settings, SpoolSettings

from tests.conftest import ROOT
from tests.core_api.helpers.execution import logged_in_full
from tests.core_api.seed import Org
from tests.telemetry.helpers.harness import clickhouse_settings, migrate_database

SPEC = ROOT.parent / "shared" / "spec"

Client = TestClient[Litestar]
Json = Any

ENDPOINT = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/v1/[^\s?]*)(\?\S*)?")
KIND = re.compile(r"^(Request|Response):", re.MULTILINE)

# The adherence document's samples are illustrations (spec README): the text around them counts.
EXCEPTIONS = {
    ("adherence-reports-bridge.md", 1): "the Weekly Adherence Report: two versions of the sample interleaved "
    "into text that is not JSON; the spec README calls this document's samples garbled illustrations",
    ("adherence-reports-bridge.md", 2): "the SessionStream Report of the research platform the adherence model "
    "comes from: no endpoint of this API serves it, and the spec README says the text around the samples counts",
}


@dataclass(frozen=True)
class Sample:
    file: str
    number: int  # 1-based, within its file
    line: int
    text: str
    method: str | None
    path: str | None
    query: str
    kind: str | None

    @property
    def name(self) -> str:
        return f"{self.file}#{self.number}:{self.method} {self.path} {self.kind}"

    def json(self) -> Json:
        return json.loads(self.text.replace("[...]", "[]"))


def _balanced_end(text: str, start: int) -> int:
    """The index just past the bracket that closes the one at ``start`` (string-aware); the end of the
    line when they never balance."""
    depth, in_string, escaped = 0, False, False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def read_samples(spec: Path = SPEC) -> list[Sample]:
    samples: list[Sample] = []
    for document in sorted(spec.glob("*.md")):
        text = document.read_text(encoding="utf-8")
        position, number = 0, 0
        for match in re.finditer(r"^[ \t]*([{\[])(?=\s*[\"{\[\]}\d.-])", text, re.MULTILINE):
            start = match.start(1)
            if start < position:
                continue  # inside the previous sample
            position = _balanced_end(text, start)
            number += 1
            before = text[:start]
            endpoints = list(ENDPOINT.finditer(before))
            method = path = kind = None
            query = ""
            if endpoints:
                last = endpoints[-1]
                method, path, query = last[1], last[2], (last[3] or "")[1:]
                markers = KIND.findall(before, last.end())
                kind = markers[-1].lower() if markers else ("request" if method in {"POST", "PUT"} else None)
            samples.append(
                Sample(
                    document.name,
                    number,
                    text.count("\n", 0, start) + 1,
                    text[start:position],
                    method,
                    path,
                    query,
                    kind,
                )
            )
    return samples


SAMPLES = read_samples() if SPEC.is_dir() else []


def json_type(value: Json) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape_mismatches(sample: Json, real: Json, where: str = "$") -> list[str]:
    """Where ``real`` lacks a key of ``sample`` or holds another JSON type, at every nesting level."""
    if sample is None:
        return []
    if json_type(sample) != json_type(real):
        return [f"{where}: the sample has {json_type(sample)}, the API {json_type(real)} ({real!r:.80})"]
    found: list[str] = []
    if isinstance(sample, dict):
        for key, value in sample.items():
            if key not in real:
                found.append(f"{where}.{key}: missing (the API has {sorted(real)})")
            else:
                found += shape_mismatches(value, real[key], f"{where}.{key}")
    elif isinstance(sample, list) and sample:
        if not real:
            return [f"{where}: the sample has items, the API's array is empty"]
        for index, item in enumerate(sample):
            found += shape_mismatches(item, real[min(index, len(real) - 1)], f"{where}[{index}]")
    return found


# The live apps, and the objects the samples talk about ------------------------------------------------------


def ok(response: Any, *statuses: int) -> Json:
    assert response.status_code in (statuses or (200,)), f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


EXERCISES = (
    ("Quad Set", "beginner"),
    ("Prone Hang", "beginner"),
    ("Straight Leg Raise", "intermediate"),
)
INSTRUCTIONS = "Lie on your back.\nTighten the thigh muscle.\nHold, then relax."


class World:
    """One organization's plans, enrollments and sessions, built through the API on first use, with what
    the spec's samples show filled in (so every key the samples show has a value to compare)."""

    def __init__(
        self,
        client: Client,
        org: Org,
        conn: psycopg.Connection,
        tmp_path: Path,
        request: pytest.FixtureRequest,
        chdb_dir: Path,
    ) -> None:
        self.client, self.org, self.conn, self.tmp_path = client, org, conn, tmp_path
        self.request, self.chdb_dir = request, chdb_dir

    def headers(self, role: str) -> dict[str, str]:
        return self.org.headers(role)

    @cached_property
    def today(self) -> str:
        return datetime.now(ZoneInfo("Europe/Madrid")).date().isoformat()

    @cached_property
    def exercises(self) -> list[str]:
        """Published exercises with their full content (video, thumbnail, instructions, duration)."""
        return [
            str(
                self.conn.execute(
                    "INSERT INTO exercises (organization_id, name, difficulty, published, instructions, video_url, "
                    "video_thumbnail_url, estimated_duration_seconds) VALUES (%s, %s, %s, true, %s, "
                    "'https://cdn.example/video.mp4', 'https://cdn.example/thumb.jpg', 45) RETURNING id",
                    (self.org.id, name, difficulty, INSTRUCTIONS),
                ).fetchone()[0]  # type: ignore[index]
            )
            for name, difficulty in EXERCISES
        ]

    def draft_plan(self, *, sessions: int = 3, requires_approval: bool = True) -> Json:
        """A draft library plan like the spec's: ``sessions`` sessions, the first with a reps exercise and a
        duration exercise, the others with one exercise each."""
        plan = ok(
            self.client.post(
                "/v1/treatment-plans",
                json={
                    "name": "Post-ACL Rehab Weeks 1-4",
                    "description": "Progressive rehabilitation program for ACL reconstruction recovery",
                    "type": "telerehab",
                    "visibility": "library",
                    "condition_tags": ["post_acl", "knee_rehab", "shoulder_pain"],
                    "frequency_per_week": 3,
                    "duration_weeks": 4,
                    "specialist_id": self.org.specialist,
                    "specialty_id": self.org.specialty,
                    "requires_approval": requires_approval,
                    "post_session_form_template_id": self.org.form_template,
                },
                headers=self.headers("specialist"),
            ),
            201,
        )
        for number in range(1, sessions + 1):
            session = ok(
                self.client.post(
                    f"/v1/treatment-plans/{plan['id']}/sessions",
                    json={
                        "session_number": number,
                        "name": f"Session {number}",
                        "description": "Gentle mobility exercises",
                        "estimated_duration_minutes": 25,
                    },
                    headers=self.headers("specialist"),
                ),
                201,
            )
            self.add_exercise(session["id"], 0, mode="reps")
            if number == 1:
                self.add_exercise(session["id"], 1, mode="duration")
        return plan

    def add_exercise(self, session_id: int, sort_order: int, *, mode: str) -> Json:
        prescription = {"reps": 10} if mode == "reps" else {"hold_seconds": 60, "duration_seconds": 60}
        return ok(
            self.client.post(
                f"/v1/treatment-plan-sessions/{session_id}/exercises",
                json={
                    "exercise_id": self.exercises[sort_order % len(self.exercises)],
                    "sort_order": sort_order,
                    "mode": mode,
                    "sets": 3,
                    "rest_between_sets_seconds": 30,
                    "rest_after_exercise_seconds": 60,
                    "notes": "Focus on controlled contraction",
                }
                | prescription,
                headers=self.headers("specialist"),
            ),
            201,
        )

    def publish(self, plan_id: str) -> Json:
        return ok(self.client.post(f"/v1/treatment-plans/{plan_id}/publish", headers=self.headers("specialist")))

    @cached_property
    def published_plan(self) -> Json:
        plan = self.draft_plan()
        self.publish(plan["id"])
        return plan

    @cached_property
    def draft(self) -> Json:
        """A draft plan of two sessions, for the samples that edit one."""
        return self.draft_plan(sessions=2)

    @cached_property
    def active_plan(self) -> Json:
        """A published plan that needs no approval, so its status is ``active``."""
        plan = self.draft_plan(requires_approval=False)
        self.publish(plan["id"])
        return plan

    @cached_property
    def enrollment(self) -> Json:
        """The patient, assigned by the specialist to the published plan from today, and approved."""
        enrollment = ok(
            self.client.post(
                "/v1/patient-treatment-plans",
                json={
                    "patient_id": self.org.patient,
                    "treatment_plan_id": self.published_plan["id"],
                    "start_date": self.today,
                    "assigned_by_specialist_id": self.org.specialist,
                },
                headers=self.headers("specialist"),
            ),
            201,
        )
        if enrollment["status"] == "pending_approval":
            enrollment = ok(
                self.client.post(
                    f"/v1/patient-treatment-plans/{enrollment['id']}/approve", headers=self.headers("specialist")
                )
            )
        return enrollment

    def start(self, number: int = 1) -> Any:
        return self.client.post(
            f"/v1/patient-treatment-plans/{self.enrollment['id']}/sessions/{number}/start",
            json={"pain_level_before": 6},
            headers=self.headers("patient"),
        )

    @cached_property
    def started(self) -> Json:
        return ok(self.start(), 200, 201)

    @cached_property
    def log_ids(self) -> list[int]:
        """The started session's exercise logs, read by the names a spec-built app reads."""
        return [int(exercise["exercise_log_id"]) for exercise in self.started["exercises"]]

    @cached_property
    def completion_id(self) -> int:
        return int(self.started["session_completion_id"])

    def complete(self) -> Any:
        return self.client.post(
            f"/v1/patient-session-completions/{self.completion_id}/complete",
            json={"pain_level_after": 4, "perceived_difficulty": 3, "notes": "Felt good overall"},
            headers=self.headers("patient"),
        )

    @cached_property
    def performed(self) -> Json:
        """The first session done: every exercise logged in full (video watched, pose scored), then completed."""
        for log_id in self.log_ids:
            ok(
                self.client.put(
                    f"/v1/patient-exercise-logs/{log_id}",
                    json=logged_in_full(started_at=_now(), completed_at=_now()),
                    headers=self.headers("patient"),
                )
            )
        return ok(self.complete())

    @cached_property
    def telemetry(self) -> Client:
        """The telemetry app, trusting core-api's token keys, on an embedded ClickHouse of its own."""
        jwks = self.tmp_path / "core-api-jwks.json"
        jwks.write_text(self.client.get("/.well-known/jwks.json").text)
        clickhouse = clickhouse_settings(self.request, "embedded", self.chdb_dir)
        asyncio.run(migrate_database(clickhouse))
        settings = Settings(
            clickhouse=clickhouse,
            http=HttpSettings(),
            log=LogSettings(format="json", level="warning"),
            auth=AuthSettings(jwks_file=str(jwks), issuer="telerehab-core-api", audience="telerehab-telemetry"),
            ingest=IngestSettings(),
            spool=SpoolSettings(dir=str(self.tmp_path / "spool")),
        )
        client = TestClient(create_telemetry(settings))
        client.__enter__()
        return client

    @cached_property
    def telemetry_headers(self) -> dict[str, str]:
        """A patient's telemetry token from core-api, after consent to analytics and pose tracking."""
        ok(
            self.client.post(
                f"/v1/patients/{self.org.patient}/consent",
                json={"analytics_level": 3, "biometric": True},
                headers=self.headers("patient"),
            )
        )
        token = ok(self.client.post("/v1/telemetry/token", headers=self.headers("patient")))["token"]
        return {"Authorization": f"Bearer {token}"}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


# How each sample is run: (method, path as the spec writes it, kind) → the real response ---------------------

Scenario = Callable[[World, Json, str], Any]


def _ids(world: World, body: Json) -> Json:
    """The sample's ids and placeholders replaced by the seeded objects' (only the keys it has)."""
    values: dict[str, Callable[[], Any]] = {
        "specialist_id": lambda: world.org.specialist,
        "assigned_by_specialist_id": lambda: world.org.specialist,
        "specialty_id": lambda: world.org.specialty,
        "post_session_form_template_id": lambda: world.org.form_template,
        "patient_id": lambda: world.org.patient,
        "created_for_patient_id": lambda: world.org.patient,
        "treatment_plan_id": lambda: world.published_plan["id"],
        "exercise_id": lambda: world.exercises[0],
        "session_id": lambda: str(uuid.uuid4()),
        "start_date": lambda: world.today,
    }
    replaced = {key: (values[key]() if key in values else value) for key, value in body.items()}
    leftover = [key for key, value in replaced.items() if isinstance(value, str) and value.endswith("...")]
    assert not leftover, f"placeholders left in {leftover}"
    return replaced


def _query(world: World, query: str) -> str:
    """The spec's query string with its ids made the seeded ones."""
    ids = {"specialist_id": world.org.specialist, "patient_id": world.org.patient}
    pairs = [pair.split("=", 1) for pair in query.split("&") if pair]
    return "&".join(f"{name}={ids.get(name, value)}" for name, value in pairs)


def _get(role: str, url: Callable[[World], str], given: Callable[[World], object] | None = None) -> Scenario:
    """GET ``url`` with the spec's query, once ``given`` has built what the response should list."""

    def run(world: World, body: Json, query: str) -> Any:
        if given is not None:
            given(world)
        target = url(world)
        if query:
            target += "?" + _query(world, query)
        return world.client.get(target, headers=world.headers(role))

    return run


def _send(
    method: str, role: str, url: Callable[[World], str], prepare: Callable[[World, Json], Json] = _ids
) -> Scenario:
    def run(world: World, body: Json, query: str) -> Any:
        target = url(world)
        return world.client.request(method, target, json=prepare(world, body), headers=world.headers(role))

    return run


def _plan(world: World) -> str:
    return f"/v1/treatment-plans/{world.published_plan['id']}"


def _custom_plan(world: World) -> str:
    """A plan cloned for the patient (a custom plan, which promote turns into a reusable one)."""
    clone = ok(
        world.client.post(
            f"{_plan(world)}/clone",
            json={"name": "Jane Doe - Post-ACL", "created_for_patient_id": world.org.patient},
            headers=world.headers("specialist"),
        ),
        201,
    )
    return f"/v1/treatment-plans/{clone['id']}"


def _reorder_sessions(world: World, body: Json) -> Json:
    """The sample's session ids 1..n are the draft's sessions in number order."""
    plan = world.draft
    ok(
        world.client.post(
            f"/v1/treatment-plans/{plan['id']}/sessions",
            json={"session_number": 3, "name": "Balance & Control"},
            headers=world.headers("specialist"),
        ),
        201,
    )
    sessions = ok(world.client.get(f"/v1/treatment-plans/{plan['id']}/sessions", headers=world.headers("specialist")))
    real = [session["id"] for session in sorted(sessions["sessions"], key=lambda session: session["session_number"])]
    return {"session_ids": [real[number - 1] for number in body["session_ids"]]}


def _first_session(world: World) -> int:
    plan = world.draft
    sessions = ok(world.client.get(f"/v1/treatment-plans/{plan['id']}/sessions", headers=world.headers("specialist")))
    return int(min(sessions["sessions"], key=lambda session: session["session_number"])["id"])


def _empty_session(world: World) -> int:
    plan = world.draft_plan(sessions=0)
    session = ok(
        world.client.post(
            f"/v1/treatment-plans/{plan['id']}/sessions",
            json={"session_number": 1, "name": "Mobility Focus"},
            headers=world.headers("specialist"),
        ),
        201,
    )
    return int(session["id"])


def _reorder_exercises(world: World, body: Json) -> Json:
    """The sample's exercise ids 10, 11, 12 are the session's exercises in sort order."""
    session = _first_session(world)
    world.add_exercise(session, 2, mode="reps")
    listed = ok(
        world.client.get(f"/v1/treatment-plan-sessions/{session}/exercises", headers=world.headers("specialist"))
    )
    real = [item["id"] for item in sorted(listed["exercises"], key=lambda item: item["sort_order"])]
    lowest = min(body["exercise_ids"])
    return {"exercise_ids": [real[sample_id - lowest] for sample_id in body["exercise_ids"]]}


def _publish(world: World, body: Json, query: str) -> Any:
    plan = world.draft_plan()
    return world.client.post(f"/v1/treatment-plans/{plan['id']}/publish", headers=world.headers("specialist"))


def _start(world: World, body: Json, query: str) -> Any:
    return world.start()


def _complete_request(world: World, body: Json, query: str) -> Any:
    return world.client.post(
        f"/v1/patient-session-completions/{world.completion_id}/complete",
        json=_ids(world, body),
        headers=world.headers("patient"),
    )


def _complete_response(world: World, body: Json, query: str) -> Any:
    for log_id in world.log_ids:
        ok(
            world.client.put(
                f"/v1/patient-exercise-logs/{log_id}",
                json={"actual_sets": 3, "actual_reps": 10},
                headers=world.headers("patient"),
            )
        )
    return world.complete()


def _after_a_session(role: str, url: Callable[[World], str]) -> Scenario:
    """GET ``url`` once the patient has done the first session in full."""
    return _get(role, url, lambda world: world.performed)


def _telemetry(path: str) -> Scenario:
    def run(world: World, body: Json, query: str) -> Any:
        return world.telemetry.post(path, json=_ids(world, body), headers=world.telemetry_headers)

    return run


def _enrollment(world: World) -> str:
    return f"/v1/patient-treatment-plans/{world.enrollment['id']}"


SCENARIOS: dict[tuple[str, str, str], Scenario] = {
    ("GET", "/v1/treatment-plans", "response"): _get(
        "specialist", lambda world: "/v1/treatment-plans", lambda world: world.active_plan
    ),
    ("GET", "/v1/treatment-plans/{id}", "response"): _get("specialist", _plan),
    ("POST", "/v1/treatment-plans", "request"): _send("POST", "specialist", lambda world: "/v1/treatment-plans"),
    ("POST", "/v1/treatment-plans/{id}/publish", "response"): _publish,
    ("GET", "/v1/treatment-plans/{id}/versions", "response"): _get(
        "specialist", lambda world: f"{_plan(world)}/versions"
    ),
    ("POST", "/v1/treatment-plans/{id}/clone", "request"): _send(
        "POST", "specialist", lambda world: f"{_plan(world)}/clone"
    ),
    ("POST", "/v1/treatment-plans/{id}/promote", "request"): _send(
        "POST", "admin", lambda world: f"{_custom_plan(world)}/promote"
    ),
    ("GET", "/v1/treatment-plans/library", "response"): _get(
        "patient", lambda world: "/v1/treatment-plans/library", lambda world: world.published_plan
    ),
    ("POST", "/v1/treatment-plans/{id}/self-assign", "request"): _send(
        "POST", "patient", lambda world: f"{_plan(world)}/self-assign"
    ),
    ("GET", "/v1/treatment-plans/{id}/sessions", "response"): _get(
        "specialist", lambda world: f"{_plan(world)}/sessions"
    ),
    ("POST", "/v1/treatment-plans/{id}/sessions", "request"): _send(
        "POST", "specialist", lambda world: f"/v1/treatment-plans/{world.draft['id']}/sessions"
    ),
    ("PUT", "/v1/treatment-plans/{planId}/sessions/reorder", "request"): _send(
        "PUT",
        "specialist",
        lambda world: f"/v1/treatment-plans/{world.draft['id']}/sessions/reorder",
        _reorder_sessions,
    ),
    ("GET", "/v1/treatment-plan-sessions/{sessionId}/exercises", "response"): _get(
        "specialist", lambda world: f"/v1/treatment-plan-sessions/{_first_session(world)}/exercises"
    ),
    ("POST", "/v1/treatment-plan-sessions/{sessionId}/exercises", "request"): _send(
        "POST", "specialist", lambda world: f"/v1/treatment-plan-sessions/{_empty_session(world)}/exercises"
    ),
    ("PUT", "/v1/treatment-plan-sessions/{sessionId}/exercises/reorder", "request"): _send(
        "PUT",
        "specialist",
        lambda world: f"/v1/treatment-plan-sessions/{_first_session(world)}/exercises/reorder",
        _reorder_exercises,
    ),
    ("GET", "/v1/patient-treatment-plans", "response"): _get(
        "specialist", lambda world: "/v1/patient-treatment-plans", lambda world: world.enrollment
    ),
    ("POST", "/v1/patient-treatment-plans", "request"): _send(
        "POST", "specialist", lambda world: "/v1/patient-treatment-plans"
    ),
    ("PUT", "/v1/patient-treatment-plans/{id}/status", "request"): _send(
        "PUT", "specialist", lambda world: f"{_enrollment(world)}/status"
    ),
    ("GET", "/v1/patients/{patientId}/treatment-plans/today", "response"): _get(
        "patient",
        lambda world: f"/v1/patients/{world.org.patient}/treatment-plans/today",
        lambda world: world.enrollment,
    ),
    ("POST", "/v1/patient-treatment-plans/{id}/sessions/{sessionNumber}/start", "request"): _send(
        "POST", "patient", lambda world: f"{_enrollment(world)}/sessions/1/start"
    ),
    ("POST", "/v1/patient-treatment-plans/{id}/sessions/{sessionNumber}/start", "response"): _start,
    ("PUT", "/v1/patient-exercise-logs/{id}", "request"): _send(
        "PUT", "patient", lambda world: f"/v1/patient-exercise-logs/{world.log_ids[0]}"
    ),
    ("POST", "/v1/patient-session-completions/{id}/complete", "request"): _complete_request,
    ("POST", "/v1/patient-session-completions/{id}/complete", "response"): _complete_response,
    ("POST", "/v1/patient-session-completions/{id}/skip", "request"): _send(
        "POST", "patient", lambda world: f"/v1/patient-session-completions/{world.completion_id}/skip"
    ),
    ("GET", "/v1/patient-session-completions/{id}/exercise-logs", "response"): _after_a_session(
        "patient", lambda world: f"/v1/patient-session-completions/{world.completion_id}/exercise-logs"
    ),
    ("GET", "/v1/patient-treatment-plans/{id}/progress", "response"): _after_a_session(
        "patient", lambda world: f"{_enrollment(world)}/progress"
    ),
    ("GET", "/v1/patient-treatment-plans/{id}/analytics", "response"): _after_a_session(
        "specialist", lambda world: f"{_enrollment(world)}/analytics"
    ),
    ("POST", "/v1/media/events", "request"): _telemetry("/v1/media/events"),
    ("POST", "/v1/pose/frames", "request"): _telemetry("/v1/pose/frames"),
    ("POST", "/v1/analytics/track", "request"): _telemetry("/v1/analytics/track"),
}

NORMATIVE = [sample for sample in SAMPLES if (sample.file, sample.number) not in EXCEPTIONS]


def test_every_normative_sample_is_checked() -> None:
    """The spec is there, every listed exception is a sample of it, and every other sample has its scenario."""
    assert SAMPLES, f"no samples found under {SPEC}"
    found = {(sample.file, sample.number) for sample in SAMPLES}
    assert set(EXCEPTIONS) <= found
    checked = [sample for sample in NORMATIVE if (sample.method, sample.path, sample.kind) in SCENARIOS]
    assert [sample.name for sample in NORMATIVE if sample not in checked] == []
    assert len(checked) == len(SAMPLES) - len(EXCEPTIONS)
    print(f"{len(checked)} normative spec samples checked of {len(SAMPLES)} found ({len(EXCEPTIONS)} exceptions)")


@pytest.fixture
def world(
    core_api: Client,
    org: Org,
    superuser: psycopg.Connection,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    chdb_dir: Path,
) -> Iterator[World]:
    built = World(core_api, org, superuser, tmp_path, request, chdb_dir)
    yield built
    if "telemetry" in built.__dict__:
        built.telemetry.__exit__(None, None, None)


@pytest.mark.parametrize("sample", NORMATIVE, ids=lambda sample: sample.name)
def test_the_spec_sample_works_against_the_api(sample: Sample, world: World) -> None:
    scenario = SCENARIOS[(sample.method, sample.path, sample.kind)]  # type: ignore[index]
    body = sample.json()
    response = scenario(world, body, sample.query)
    assert 200 <= response.status_code < 300, f"{response.status_code}: {response.text}"
    if sample.kind == "response":
        mismatches = shape_mismatches(body, response.json())
        assert not mismatches, "\n".join(mismatches)


def test_the_comparison_finds_missing_moved_and_retyped_keys() -> None:
    sample = {"id": 1, "plan": {"name": "x", "tags": ["a"]}, "items": [{"n": 1}], "note": None}
    assert shape_mismatches(sample, {"id": 2, "plan": {"name": "y", "tags": []}, "items": [{"n": 2}], "note": 5}) == [
        "$.plan.tags: the sample has items, the API's array is empty"
    ]
    assert shape_mismatches(sample, {"id": "1", "name": "x", "items": [{}], "note": None}) == [
        "$.id: the sample has number, the API string ('1')",
        "$.plan: missing (the API has ['id', 'items', 'name', 'note'])",
        "$.items[0].n: missing (the API has [])",
    ]

"""``POST /v1/session-evidence`` on both ClickHouse engines: the figures of scripted sessions equal
hand-computed ones, only the rows of the requested actor in the caller's organization count, a batch is one
ClickHouse query however many sessions it names, and bad requests are 422 problems naming the field."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from contracts.session_evidence import MAX_EVIDENCE_SESSIONS
from telemetry.clickhouse.store import ClickHouseStore
from telemetry.evidence.queries import evidence_query

from tests.core_api.helpers.responses import ok, problem
from tests.telemetry.helpers.harness import Ingest
from tests.telemetry.helpers.payloads import media_events, pose_frame
from tests.telemetry.helpers.routes import token

PATH = "/v1/session-evidence"
WATCHED, POSE_ONLY, NOTHING, OTHER_ACTORS = (str(uuid.uuid4()) for _ in range(4))


def frame(number: int, reps: int, form_score: float | None, rom: float | None, **changes: Any) -> dict[str, Any]:
    return pose_frame(number) | {"rep_count": reps, "form_score": form_score, "rom_degrees": rom} | changes


# The patient's frames of WATCHED: frame 2 has a mean landmark visibility of 0.25 and frame 3 no body in view
# (both low visibility); frame 4 sent no landmark arrays, so only its form score could make it low.
WATCHED_FRAMES = [
    frame(1, 1, 0.9, 30.0),
    frame(2, 2, 0.7, 80.5, landmark_visibility=[0.25] * 33),
    frame(3, 3, None, None),
    frame(4, 3, 0.8, 55.25, landmark_x=[], landmark_y=[], landmark_z=[], landmark_visibility=[], landmarks_detected=0),
]
WATCHED_FIGURES = {
    # Seven events: a heartbeat at 29.5 s and 70.25 %, one 850 ms stall (reported by buffering_start/_end and by
    # session_end's running count), a milestone at 75 and a completed session_end at 41 s and 97.5 %.
    "media": {
        "events": 7,
        "watched_seconds": 41.0,
        "watch_percentage": 97.5,
        "milestones_reached": [25, 50, 75],
        "completed": True,
        "buffering_count": 1,
        "buffering_seconds": 0.85,
    },
    # Mean form score (0.9 + 0.7 + 0.8) / 3 * 100 over the frames with a body in view.
    "pose": {
        "frames": 4,
        "reps_counted": 3,
        "mean_form_score": 80.0,
        "rom_min_degrees": 30.0,
        "rom_max_degrees": 80.5,
        "low_visibility_frames": 2,
    },
}


def _media(session_id: str, events: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return [{**event, "session_id": session_id} for event in (events if events is not None else media_events())]


def _pose(session_id: str, frames: list[dict[str, Any]]) -> dict[str, Any]:
    return {"session_id": session_id, "media_id": "exercise-evidence", "frames": frames}


def _send(ingest: Ingest, path: str, body: Any, actor_hash: str, org_hash: str) -> None:
    headers = token(ingest, actor_hash=actor_hash, org_hash=org_hash) | {"Content-Type": "application/json"}
    response = ingest.client.post(path, content=msgspec.json.encode(body), headers=headers)
    assert response.status_code == 202, response.text


def ask(ingest: Ingest, body: Any, **claims: Any) -> Any:
    headers = token(ingest, **{"role": "service", "consent_level": 0, "biometric": False} | claims)
    headers["Content-Type"] = "application/json"
    return ingest.client.post(PATH, content=msgspec.json.encode(body), headers=headers)


def keys(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"sessions": [{"actor_hash": actor, "session_id": session} for actor, session in pairs]}


class CountingStore:
    """The app's real store, counting the queries it is asked to run."""

    def __init__(self, store: ClickHouseStore) -> None:
        self._store = store
        self.backend, self.database = store.backend, store.database
        self.queries: list[str] = []

    async def select(self, query: str) -> list[dict[str, Any]]:
        self.queries.append(query)
        return await self._store.select(query)


@pytest.fixture
def counted(ingest: Ingest) -> Iterator[CountingStore]:
    """The app's store, counting the queries of the requests made while the test runs."""
    state = ingest.client.app.state
    real = state.store
    state.store = CountingStore(real)
    yield state.store
    state.store = real


@dataclass
class Scripted:
    ingest: Ingest
    patient: str
    other: str


@pytest.fixture
def scripted(ingest: Ingest) -> Scripted:
    """Under an organization of the test's own, the patient (the test's actor) watched and tracked WATCHED and
    only tracked POSE_ONLY; another patient sent rows under WATCHED too and watched OTHER_ACTORS; the same
    patient hash in another organization sent rows under WATCHED."""
    ingest.own_organization()
    patient, other, org = ingest.actor_hash, f"actor_{uuid.uuid4().hex}", ingest.org_hash
    _send(ingest, "/v1/media/events", _media(WATCHED), patient, org)
    _send(ingest, "/v1/pose/frames", _pose(WATCHED, WATCHED_FRAMES), patient, org)
    _send(ingest, "/v1/pose/frames", _pose(POSE_ONLY, [frame(1, 0, None, None), frame(2, 0, None, None)]), patient, org)
    # Rows that must not count for the patient's WATCHED: another patient's, and another organization's.
    noise_events = _media(WATCHED)[-2:]  # a milestone at 75 and a completed session_end
    noise_frames = [frame(7, 40, 0.1, 170.0), frame(8, 41, 0.2, 5.0)]
    _send(ingest, "/v1/media/events", noise_events, other, org)
    _send(ingest, "/v1/pose/frames", _pose(WATCHED, noise_frames), other, org)
    _send(ingest, "/v1/media/events", _media(WATCHED), patient, f"org_{uuid.uuid4().hex}")
    _send(ingest, "/v1/pose/frames", _pose(WATCHED, noise_frames), patient, f"org_{uuid.uuid4().hex}")
    heartbeat = {**media_events()[1], "data": {**media_events()[1]["data"], "completion_percent": 40.0}}
    _send(ingest, "/v1/media/events", _media(OTHER_ACTORS, [heartbeat]), other, org)
    ingest.flush()
    return Scripted(ingest, patient, other)


def test_each_session_gets_its_own_actors_figures_in_request_order_from_one_query(
    scripted: Scripted, counted: CountingStore
) -> None:
    patient, other = scripted.patient, scripted.other
    requested = [(patient, POSE_ONLY), (patient, WATCHED), (patient, NOTHING), (other, OTHER_ACTORS), (other, WATCHED)]

    answer = ok(ask(scripted.ingest, keys(*requested)))

    assert len(counted.queries) == 1
    assert [(entry["actor_hash"], entry["session_id"]) for entry in answer["sessions"]] == requested
    pose_only, watched, nothing, other_actors, others_rows = answer["sessions"]
    assert {"media": watched["media"], "pose": watched["pose"]} == WATCHED_FIGURES
    assert pose_only["media"] is None
    assert pose_only["pose"] == {
        "frames": 2,
        "reps_counted": 0,
        "mean_form_score": None,
        "rom_min_degrees": None,
        "rom_max_degrees": None,
        "low_visibility_frames": 2,
    }
    assert (nothing["media"], nothing["pose"]) == (None, None)
    assert other_actors["pose"] is None
    assert other_actors["media"] == {
        "events": 1,
        "watched_seconds": 29.5,
        "watch_percentage": 40.0,
        "milestones_reached": [],
        "completed": False,
        "buffering_count": 0,
        "buffering_seconds": 0.0,
    }
    # The other patient's rows under WATCHED are a session of theirs, never the patient's.
    assert (others_rows["media"]["events"], others_rows["media"]["milestones_reached"]) == (2, [25, 50, 75])
    assert others_rows["pose"]["frames"] == 2
    assert others_rows["pose"]["reps_counted"] == 41


def test_the_largest_batch_is_one_query_of_the_longest_hashes(scripted: Scripted, counted: CountingStore) -> None:
    # 128-character hashes: the query's size and, through the server store's HTTP reader, its token count
    # (sqlparse refuses more than 10,000) at their largest.
    longest = [("h" * 128, str(uuid.uuid4())) for _ in range(MAX_EVIDENCE_SESSIONS - 1)]
    requested = [*longest, (scripted.patient, WATCHED)]

    answer = ok(ask(scripted.ingest, keys(*requested)))

    assert len(counted.queries) == 1
    assert [entry["media"] for entry in answer["sessions"][:-1]] == [None] * len(longest)
    assert answer["sessions"][-1]["pose"] == WATCHED_FIGURES["pose"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (keys(*[("actor", str(uuid.uuid4())) for _ in range(MAX_EVIDENCE_SESSIONS + 1)]), "sessions"),
        (keys(), "sessions"),
        (keys(("actor", "not-a-uuid")), "sessions[0].session_id"),
        (keys(("actor", "550e8400-e29b-41d4-a716-446655440000"), ("a'b", str(uuid.uuid4()))), "sessions[1].actor_hash"),
        ({"sessions": [{"actor_hash": "actor", "session_id": str(uuid.uuid4()), "org_hash": "x"}]}, "sessions[0]"),
        (keys(("actor", WATCHED), ("other", WATCHED), ("actor", WATCHED.upper())), "sessions[2]"),
    ],
    ids=["501 sessions", "none", "bad uuid", "bad hash", "unknown field", "repeated"],
)
def test_a_bad_request_is_a_422_naming_the_field(
    ingest: Ingest, counted: CountingStore, body: dict[str, Any], field: str
) -> None:
    body_problem = problem(ask(ingest, body), 422)
    assert [error["field"] for error in body_problem["errors"]] == [field]
    assert counted.queries == []


def test_malformed_json_is_a_400(ingest: Ingest) -> None:
    headers = token(ingest, role="service", consent_level=0) | {"Content-Type": "application/json"}
    problem(ingest.client.post(PATH, content=b'{"sessions": [', headers=headers), 400)


def test_a_hostile_hash_stays_inside_its_string() -> None:
    query = evidence_query("org' OR '1'='1", [("x') OR 1 --", uuid.UUID(int=0))])
    assert "org_hash = 'org\\' OR \\'1\\'=\\'1'" in query
    assert "IN (('x\\') OR 1 --', '00000000-0000-0000-0000-000000000000'))" in query

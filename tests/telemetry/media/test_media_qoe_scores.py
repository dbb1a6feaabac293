"""Mux-style scores, the startup-time histogram, rendition time shares, seek latency, the platform grouping
and the media ranking match hand-computed figures for scripted views, on both ClickHouse engines.

Score formulas (Mux Data, docs/telemetry.md "Read routes"): startup time 8 / (8 + seconds) x 100; smoothness
the mean of 100 / sqrt(1 + (rebuffers / 2)^2) and 100 x e^(-10 x rebuffer ratio); playback success 0 / 50 /
100; viewer experience playback success / 100 x the mean of smoothness and startup time."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from tests.telemetry.helpers.harness import Ingest
from tests.telemetry.helpers.mux_scores import experience, smoothness, startup_score

AT = "2026-02-16T09:00:{second:02d}Z"
M1 = "qoe-m1"


def test_the_startup_score_formula_gives_muxs_published_examples() -> None:
    # Mux's examples: 400 ms 95, 2 s 80, 8 s 50, 20 s 29; the views below reach them through the API.
    assert [round(startup_score(s)) for s in (0.4, 2, 8, 20)] == [95, 80, 50, 29]


def event(kind: str, session: str, second: int, media_id: str | None = None, **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"event": kind, "session_id": session, "timestamp": AT.format(second=second)}
    if media_id is not None:
        body["media_id"] = media_id
    if data:
        body["data"] = data
    return body


def intent(session: str, second: int = 0, media_id: str = M1, **data: Any) -> dict[str, Any]:
    return event("play_intent", session, second, media_id, connection_type="wifi", **data)


def first_frame(session: str, second: int, media_id: str = M1, **data: Any) -> dict[str, Any]:
    return event("session_start", session, second, media_id, total_duration_seconds=60.0, cdn_response_time_ms=100,
                 **data)  # fmt: skip


def heartbeat(session: str, second: int, *, watched: float, bitrate: int, resolution: str) -> dict[str, Any]:
    return event("heartbeat", session, second, position_seconds=watched, watched_duration_seconds=watched,
                 completion_percent=watched * 100 / 60, buffering_count=0, buffering_duration_ms=0,
                 current_bitrate=bitrate, current_resolution=resolution)  # fmt: skip


def stall(session: str, start: int, end: int, duration_ms: int, cause: str) -> list[dict[str, Any]]:
    return [
        event("buffering_start", session, start, position_seconds=float(start), cause=cause),
        event("buffering_end", session, end, position_seconds=float(start), duration_ms=duration_ms, cause=cause),
    ]


def switch(session: str, second: int, *, before: int, after: int, resolution: str) -> dict[str, Any]:
    return event("quality_change", session, second, from_bitrate=before, to_bitrate=after, reason="abr",
                 to_resolution=resolution)  # fmt: skip


def end(session: str, second: int, *, watched: float, reason: str = "user_exit") -> dict[str, Any]:
    return event("session_end", session, second, watched_duration_seconds=watched,
                 completion_percent=watched * 100 / 60, buffering_count=0, buffering_duration_ms=0, completed=False,
                 exit_reason=reason)  # fmt: skip


def fatal(session: str, second: int) -> dict[str, Any]:
    return event("error", session, second, code="MEDIA_ERR_NETWORK", fatal=True)


S1, S2, S3, S4, S5, S6 = (str(uuid.uuid4()) for _ in range(6))

# Six views of M1:
# S1 (ios, named by play_intent only): intent 0, first frame 2 (startup 2 s), 2 Mbit/s 720p from the heartbeat
#    at 10, 4 Mbit/s 1080p from the switch at 15 to the end at 30; three seek stalls (800, 1500, 2400 ms),
#    one 1 s playback stall; 25 s watched.
# S2 (android): intent, then a fatal error: a startup failure.
# S3 (web): intent at 0, leaves at 5: an exit before start of 5 s.
# S4 (web): intent and exit in the same second: an exit before start under 1 s (no playback success score).
# S5 (no platform, an older client without play_intent): startup 400 ms as the player measured it, 360p.
# S6 (web, on session_start): startup 8 s, 240p.
M1_VIEWS: list[dict[str, Any]] = [
    intent(S1, platform="ios", cdn="fastly"),
    first_frame(S1, 2),
    heartbeat(S1, 10, watched=8.0, bitrate=2_000_000, resolution="720p"),
    *stall(S1, 11, 12, 800, "seek"),
    *stall(S1, 13, 14, 1500, "seek"),
    switch(S1, 15, before=2_000_000, after=4_000_000, resolution="1080p"),
    *stall(S1, 16, 18, 2400, "seek"),
    *stall(S1, 20, 21, 1000, "playback"),
    heartbeat(S1, 25, watched=20.0, bitrate=4_000_000, resolution="1080p"),
    end(S1, 30, watched=25.0),
    intent(S2, platform="android"),
    fatal(S2, 3),
    intent(S3, platform="web"),
    end(S3, 5, watched=0.0),
    intent(S4, platform="web"),
    end(S4, 0, watched=0.0),
    first_frame(S5, 0, video_load_time_ms=400),
    heartbeat(S5, 10, watched=10.0, bitrate=1_000_000, resolution="360p"),
    end(S5, 20, watched=20.0, reason="ended"),
    first_frame(S6, 0, video_load_time_ms=8000, platform="web"),
    heartbeat(S6, 10, watched=10.0, bitrate=500_000, resolution="240p"),
    end(S6, 12, watched=12.0),
]

S1_SMOOTHNESS = smoothness(1, 1000 / 26_000)  # one 1 s stall over 25 s watched + 1 s
S1_EXPERIENCE = experience(100, S1_SMOOTHNESS, startup_score(2))
S5_EXPERIENCE = experience(100, 100, startup_score(0.4))
S6_EXPERIENCE = experience(100, 100, startup_score(8))


def post(ingest: Ingest, events: list[dict[str, Any]]) -> None:
    response = ingest.client.post(
        "/v1/media/events",
        content=msgspec.json.encode(events),
        headers={**ingest.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text


def staff_get(ingest: Ingest, path: str, **params: Any) -> Any:
    return ingest.client.get(path, params=params, headers=ingest.headers(role="staff"))


@pytest.fixture
def m1(ingest: Ingest) -> Ingest:
    """M1's six views stored under an organization of this test's own."""
    ingest.org_hash = f"org_{uuid.uuid4().hex}"
    post(ingest, M1_VIEWS)
    ingest.flush()
    return ingest


def view(ingest: Ingest, session: str) -> dict[str, Any]:
    response = staff_get(ingest, f"/v1/media/sessions/{session}/qoe", actor_hash=ingest.actor_hash)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_scores_and_seek_latency_of_one_view(m1: Ingest) -> None:
    s1 = view(m1, S1)

    assert s1 == {
        "session_id": S1,
        "media_id": M1,
        "country_code": "",
        "connection_type": "wifi",
        "platform": "ios",  # from play_intent; session_start did not repeat it
        "cdn": "fastly",
        "resolution": "1080p",
        "bandwidth_mbps": 0.0,
        "ttfb_ms": 0,
        "started": True,
        "startup_time_ms": 2000,
        "rebuffer_count": 1,  # the seek stalls are not rebuffering
        "rebuffer_duration_ms": 1000,
        "watched_seconds": 25.0,
        "rebuffer_percent": pytest.approx(1000 * 100 / 26_000),
        "rebuffer_per_minute": pytest.approx(60_000 / 26_000),
        "average_bitrate": pytest.approx((2e6 * 5 + 4e6 * 15) / 20),
        "dropped_frame_percent": 0.0,
        "exited_before_start": False,
        "playback_failed": False,
        "startup_failed": False,
        "seek_count": 3,
        "median_seek_latency_ms": 1500.0,
        "p95_seek_latency_ms": 2400.0,
        "playback_success_score": 100.0,
        "startup_time_score": pytest.approx(80.0),
        "smoothness_score": pytest.approx(S1_SMOOTHNESS),
        "viewer_experience_score": pytest.approx(S1_EXPERIENCE),
    }


def test_which_views_get_which_scores(m1: Ingest) -> None:
    scores = ("playback_success_score", "startup_time_score", "smoothness_score", "viewer_experience_score")
    got = {session: [view(m1, session)[score] for score in scores] for session in (S2, S3, S4, S5, S6)}

    assert got == {
        S2: [0.0, None, None, 0.0],  # a startup failure: no startup or smoothness to score
        S3: [50.0, None, None, 50.0],  # an exit before start after 5 s
        S4: [None, None, None, None],  # an exit within 1 s of the request: no score (Mux)
        S5: [100.0, pytest.approx(startup_score(0.4)), 100.0, pytest.approx(S5_EXPERIENCE)],
        S6: [100.0, pytest.approx(50.0), 100.0, pytest.approx(S6_EXPERIENCE)],
    }
    assert (view(m1, S5)["seek_count"], view(m1, S5)["median_seek_latency_ms"]) == (0, None)
    assert [view(m1, s)["platform"] for s in (S2, S3, S5, S6)] == ["android", "web", "", "web"]


M1_HISTOGRAM: list[dict[str, Any]] = [
    {"from_ms": 0, "to_ms": 500, "views": 1},  # S5, 400 ms
    {"from_ms": 500, "to_ms": 1000, "views": 0},
    {"from_ms": 1000, "to_ms": 2000, "views": 0},
    {"from_ms": 2000, "to_ms": 4000, "views": 1},  # S1, 2000 ms
    {"from_ms": 4000, "to_ms": 8000, "views": 0},
    {"from_ms": 8000, "to_ms": None, "views": 1},  # S6, 8000 ms
]
# S1: 720p 5 s, 1080p 15 s; S5 360p 10 s; S6 240p 2 s. 32 s in all.
M1_RENDITIONS = [
    {"resolution": "1080p", "seconds": 15.0, "share": pytest.approx(15 / 32)},
    {"resolution": "360p", "seconds": 10.0, "share": pytest.approx(10 / 32)},
    {"resolution": "720p", "seconds": 5.0, "share": pytest.approx(5 / 32)},
    {"resolution": "240p", "seconds": 2.0, "share": pytest.approx(2 / 32)},
]
M1_QOE = {
    "views": 6,
    "playback_failure_percent": pytest.approx(100 / 6),  # S2
    "startup_failure_percent": pytest.approx(100 / 6),  # S2
    "exits_before_start_percent": pytest.approx(200 / 6),  # S3, S4
    "median_startup_time_ms": 2000.0,  # of 400, 2000, 8000
    "p95_startup_time_ms": 8000.0,
    # One 1 s stall over watched + stall: S1 26 s, S5 20 s, S6 12 s.
    "rebuffer_percent": pytest.approx(1000 * 100 / 58_000),
    "rebuffer_per_minute": pytest.approx(60_000 / 58_000),
    "average_bitrate": pytest.approx((2e6 * 5 + 4e6 * 15 + 1e6 * 10 + 0.5e6 * 2) / 32),
    "dropped_frame_percent": 0.0,
    # Means over the views that have each score (S4 has none; S2 and S3 no startup or smoothness).
    "playback_success_score": pytest.approx((100 + 0 + 50 + 100 + 100) / 5),
    "startup_time_score": pytest.approx((startup_score(2) + startup_score(0.4) + startup_score(8)) / 3),
    "smoothness_score": pytest.approx((S1_SMOOTHNESS + 100 + 100) / 3),
    "viewer_experience_score": pytest.approx((S1_EXPERIENCE + 0 + 50 + S5_EXPERIENCE + S6_EXPERIENCE) / 5),
    "startup_time_histogram": M1_HISTOGRAM,
    "rendition_times": M1_RENDITIONS,
    "seek_count": 3,
    "median_seek_latency_ms": 1500.0,
    "p95_seek_latency_ms": 2400.0,
}


def test_the_summary_of_a_media(m1: Ingest) -> None:
    response = staff_get(m1, f"/v1/media/{M1}/stats", period="30d")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["qoe"] == M1_QOE
    # quality still counts heartbeats: S1 two (720p, 1080p), S5 one, S6 one.
    assert [(q["resolution"], q["heartbeats"]) for q in body["quality"]] == [
        ("1080p", 1),
        ("240p", 1),
        ("360p", 1),
        ("720p", 1),
    ]


def test_views_grouped_by_platform(m1: Ingest) -> None:
    response = staff_get(m1, "/v1/media/bandwidth/stats", period="7d", group_by="platform")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["group_by"] == "platform"
    groups = {group["group_value"]: group for group in body["groups"]}
    assert [group["group_value"] for group in body["groups"]] == ["web", "", "android", "ios"]
    web = groups["web"]["qoe"]
    assert (web["views"], web["exits_before_start_percent"]) == (3, pytest.approx(200 / 3))  # S3, S4, S6
    assert (web["playback_success_score"], web["viewer_experience_score"]) == (
        pytest.approx((50 + 100) / 2),
        pytest.approx((50 + S6_EXPERIENCE) / 2),
    )
    assert web["startup_time_histogram"][5]["views"] == 1  # S6
    assert web["rendition_times"] == [{"resolution": "240p", "seconds": 2.0, "share": 1.0}]
    ios = groups["ios"]["qoe"]
    assert (ios["views"], ios["seek_count"], ios["median_seek_latency_ms"]) == (1, 3, 1500.0)
    assert ios["smoothness_score"] == pytest.approx(S1_SMOOTHNESS)
    android = groups["android"]["qoe"]
    assert (android["startup_failure_percent"], android["playback_success_score"]) == (100.0, 0.0)
    # No view of the group started: no startup figures, rather than zeros.
    assert (android["median_startup_time_ms"], android["p95_startup_time_ms"], android["startup_time_score"]) == (
        None,
        None,
        None,
    )
    assert (android["rendition_times"], android["median_seek_latency_ms"]) == ([], None)
    assert groups[""]["qoe"]["views"] == 1  # S5 sent no platform


def test_platform_is_stored_from_play_intent_and_session_start(m1: Ingest) -> None:
    rows = m1.mine("media_events", "toString(session_id) AS session, event, platform", "event_time")

    stored = {(row["session"], row["event"]): row["platform"] for row in rows}
    assert (stored[(S1, "play_intent")], stored[(S1, "session_start")], stored[(S6, "session_start")]) == (
        "ios",
        "",
        "web",
    )
    assert stored[(S1, "heartbeat")] == ""


# The media ranking ----------------------------------------------------------------------------------------

M2, M3, M4, M5 = "qoe-m2", "qoe-m3", "qoe-m4", "qoe-m5"
R1, R2, R3, R4, R5, R6, R7 = (str(uuid.uuid4()) for _ in range(7))


def clean_view(session: str, media_id: str) -> list[dict[str, Any]]:
    return [
        intent(session, media_id=media_id),
        first_frame(session, 1, media_id),
        heartbeat(session, 10, watched=9.0, bitrate=1_000_000, resolution="480p"),
        end(session, 11, watched=10.0, reason="ended"),
    ]


# M2: one startup failure of two views (50 % failure); M3: one view, an exit before start (100 %); M4 and M5:
# two clean views each, so M4, M5 and M3 tie at 0 % failure.
RANKING_VIEWS: list[dict[str, Any]] = [
    intent(R1, media_id=M2),
    fatal(R1, 1),
    *clean_view(R2, M2),
    intent(R3, media_id=M3),
    end(R3, 2, watched=0.0),
    *clean_view(R4, M4),
    *clean_view(R5, M4),
    *clean_view(R6, M5),
    *clean_view(R7, M5),
]


@pytest.fixture
def ranked(ingest: Ingest) -> Ingest:
    """M1's views and the five views above, stored under an organization of this test's own."""
    ingest.org_hash = f"org_{uuid.uuid4().hex}"
    post(ingest, [*M1_VIEWS, *RANKING_VIEWS])
    ingest.flush()
    return ingest


def ranking(ingest: Ingest, **params: Any) -> list[tuple[str, int]]:
    response = staff_get(ingest, "/v1/media/ranking", **params)
    assert response.status_code == 200, response.text
    media = response.json()["media"]
    assert [entry["rank"] for entry in media] == list(range(1, len(media) + 1))
    return [(entry["media_id"], entry["views"]) for entry in media]


def test_media_ranked_by_each_rate_worst_first_ties_by_views_then_id(ranked: Ingest) -> None:
    by_failure = ranking(ranked, period="30d", order_by="playback_failure_percent")
    by_startup_failure = ranking(ranked, order_by="startup_failure_percent")
    by_exits = ranking(ranked, order_by="exits_before_start_percent")

    # 50 %, 16.7 %, then 0 % for M4 (2 views), M5 (2 views, a later id) and M3 (1 view).
    assert by_failure == [(M2, 2), (M1, 6), (M4, 2), (M5, 2), (M3, 1)]
    assert by_startup_failure == by_failure
    # 100 %, 33.3 %, then 0 % for M2, M4, M5 (two views each, by id).
    assert by_exits == [(M3, 1), (M1, 6), (M2, 2), (M4, 2), (M5, 2)]


def test_min_views_and_limit(ranked: Ingest) -> None:
    assert ranking(ranked, order_by="exits_before_start_percent", min_views=2) == [(M1, 6), (M2, 2), (M4, 2), (M5, 2)]
    assert ranking(ranked, order_by="exits_before_start_percent", min_views=3, limit=20) == [(M1, 6)]
    assert ranking(ranked, limit=2) == [(M2, 2), (M1, 6)]
    assert ranking(ranked, min_views=7) == []


def test_each_ranked_media_carries_its_qoe_summary(ranked: Ingest) -> None:
    response = staff_get(ranked, "/v1/media/ranking", order_by="exits_before_start_percent", limit=2)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["period"], body["order_by"], body["min_views"]) == ("30d", "exits_before_start_percent", 1)
    m3, m1 = body["media"]
    assert m1["qoe"] == M1_QOE
    assert m3["qoe"] == {
        "views": 1,
        "playback_failure_percent": 0.0,
        "startup_failure_percent": 0.0,
        "exits_before_start_percent": 100.0,
        "median_startup_time_ms": None,
        "p95_startup_time_ms": None,
        "rebuffer_percent": 0.0,
        "rebuffer_per_minute": 0.0,
        "average_bitrate": 0.0,
        "dropped_frame_percent": 0.0,
        "playback_success_score": 50.0,
        "startup_time_score": None,
        "smoothness_score": None,
        "viewer_experience_score": 50.0,
        "startup_time_histogram": [{**bucket, "views": 0} for bucket in M1_HISTOGRAM],
        "rendition_times": [],
        "seek_count": 0,
        "median_seek_latency_ms": None,
        "p95_seek_latency_ms": None,
    }


def test_the_ranking_is_the_organizations_and_for_staff_only(ranked: Ingest) -> None:
    patient = ranked.client.get("/v1/media/ranking", headers=ranked.headers())
    ranked.org_hash = "another_org"

    assert patient.status_code == 403
    assert ranking(ranked) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("order_by=views", "order_by"),
        ("min_views=0", "min_views"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("period=731d", "period"),
    ],
)
def test_bad_ranking_parameters_are_422_naming_the_field(ranked: Ingest, query: str, field: str) -> None:
    response = ranked.client.get(f"/v1/media/ranking?{query}", headers=ranked.headers(role="staff"))

    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert any(field in error["field"] for error in response.json()["errors"]), response.json()

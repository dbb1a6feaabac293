"""Per-view QoE and bandwidth statistics match hand-computed figures for a scripted set of views, on
both ClickHouse engines, and only the organization's staff can read them."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from tests.telemetry.helpers.harness import COUNTRY_HEADER, Ingest
from tests.telemetry.helpers.mux_scores import experience, smoothness, startup_score

AT = "2026-02-16T09:00:{second:02d}Z"


def start(session: str, *, ttfb: int, load: int, bandwidth: float, connection: str) -> dict[str, Any]:
    return {
        "event": "session_start",
        "session_id": session,
        "timestamp": AT.format(second=0),
        "media_id": "exercise-1",
        "media_type": "video",
        "data": {
            "total_duration_seconds": 60.0,
            "ttfb_ms": ttfb,
            "video_load_time_ms": load,
            "cdn_response_time_ms": 100,
            "connection_type": connection,
            "effective_bandwidth": bandwidth,
        },
    }


def heartbeat(session: str, second: int, *, watched: float, bitrate: int, resolution: str) -> dict[str, Any]:
    return {
        "event": "heartbeat",
        "session_id": session,
        "timestamp": AT.format(second=second),
        "data": {
            "position_seconds": watched,
            "watched_duration_seconds": watched,
            "completion_percent": watched * 100 / 60,
            "buffering_count": 0,
            "buffering_duration_ms": 0,
            "current_bitrate": bitrate,
            "current_resolution": resolution,
        },
    }


def stall(session: str, second: int, duration_ms: int) -> list[dict[str, Any]]:
    return [
        {"event": "buffering_start", "session_id": session, "timestamp": AT.format(second=second),
         "data": {"position_seconds": float(second)}},
        {"event": "buffering_end", "session_id": session, "timestamp": AT.format(second=second + 1),
         "data": {"position_seconds": float(second), "duration_ms": duration_ms}},
    ]  # fmt: skip


def end(session: str, second: int, *, watched: float, reason: str) -> dict[str, Any]:
    return {
        "event": "session_end",
        "session_id": session,
        "timestamp": AT.format(second=second),
        "data": {
            "watched_duration_seconds": watched,
            "completion_percent": watched * 100 / 60,
            "buffering_count": 0,
            "buffering_duration_ms": 0,
            "completed": reason == "ended" and watched > 0,
            "exit_reason": reason,
        },
    }


A, B, C, D = (str(uuid.uuid4()) for _ in range(4))

# Four views: A (DE, wifi) stalls twice; B (DE, cellular) fails before playing; C (FR, wifi) plays
# cleanly; D (DE, wifi) plays cleanly.
VIEWS: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "DE",
        [
            start(A, ttfb=300, load=1500, bandwidth=8.0, connection="wifi"),
            heartbeat(A, 10, watched=10.0, bitrate=2_000_000, resolution="720p"),
            *stall(A, 11, 1000),
            heartbeat(A, 20, watched=20.0, bitrate=3_000_000, resolution="1080p"),
            *stall(A, 21, 500),
            end(A, 30, watched=24.0, reason="ended"),
        ],
    ),
    (
        "DE",
        [start(B, ttfb=500, load=2500, bandwidth=2.0, connection="cellular"), end(B, 5, watched=0.0, reason="error")],
    ),
    (
        "FR",
        [
            start(C, ttfb=200, load=900, bandwidth=4.0, connection="wifi"),
            heartbeat(C, 30, watched=30.0, bitrate=1_200_000, resolution="480p"),
            end(C, 40, watched=30.0, reason="ended"),
        ],
    ),
    (
        "DE",
        [
            start(D, ttfb=400, load=2000, bandwidth=5.0, connection="wifi"),
            heartbeat(D, 15, watched=15.0, bitrate=2_000_000, resolution="720p"),
            end(D, 20, watched=15.0, reason="ended"),
        ],
    ),
]


@pytest.fixture
def scripted(ingest: Ingest) -> Ingest:
    """The four views stored under an organization of this test's own, in ClickHouse."""
    ingest.own_organization()
    for country, events in VIEWS:
        ingest.store("/v1/media/events", events, **{COUNTRY_HEADER: country})
    ingest.flush()
    return ingest


def staff_get(ingest: Ingest, path: str, **params: str) -> Any:
    return ingest.client.get(path, params=params, headers=ingest.headers(role="staff"))


def qoe(ingest: Ingest, session: str, actor_hash: str | None = None) -> Any:
    """Staff's read of the view ``actor_hash`` (the test's actor unless given) sent under ``session``."""
    return staff_get(ingest, f"/v1/media/sessions/{session}/qoe", actor_hash=actor_hash or ingest.actor_hash)


A_SMOOTHNESS = smoothness(2, 1500 / 25_500)
A_QOE = {
    "session_id": A,
    "media_id": "exercise-1",
    "country_code": "DE",
    "connection_type": "wifi",
    "resolution": "1080p",  # the last heartbeat's
    "bandwidth_mbps": 8.0,
    "ttfb_ms": 300,
    "startup_time_ms": 1500,
    "rebuffer_count": 2,
    "rebuffer_duration_ms": 1500,
    "watched_seconds": 24.0,
    "rebuffer_percent": pytest.approx(1500 * 100 / (24_000 + 1500)),
    "rebuffer_per_minute": pytest.approx(2 * 60_000 / 25_500),
    "average_bitrate": 2_500_000.0,  # 2 Mbit/s for 10 s (heartbeat at 10 s), 3 Mbit/s for 10 s (20 s to the end)
    "dropped_frame_percent": 0.0,
    "cdn": "",
    "started": True,
    "exited_before_start": False,
    "playback_failed": False,
    "startup_failed": False,
    "platform": "",
    "seek_count": 0,
    "median_seek_latency_ms": None,
    "p95_seek_latency_ms": None,
    "playback_success_score": 100.0,
    "startup_time_score": pytest.approx(startup_score(1.5)),
    "smoothness_score": pytest.approx(A_SMOOTHNESS),
    "viewer_experience_score": pytest.approx(experience(100, A_SMOOTHNESS, startup_score(1.5))),
}


def test_per_view_qoe_matches_the_hand_computed_figures(scripted: Ingest) -> None:
    a = qoe(scripted, A)
    b = qoe(scripted, B)

    assert a.status_code == 200, a.text
    assert a.json() == A_QOE
    # B showed its first frame (session_start), then failed: a playback failure, not a startup failure,
    # and a failure is never an exit before start.
    assert b.json()["exited_before_start"] is False
    assert (b.json()["playback_failed"], b.json()["startup_failed"]) == (True, False)
    assert (b.json()["rebuffer_count"], b.json()["rebuffer_percent"], b.json()["average_bitrate"]) == (0, 0.0, 0.0)


def histogram(*views: int) -> list[dict[str, Any]]:
    """The startup-time histogram with these counts in its fixed buckets."""
    lows, highs = (0, 500, 1000, 2000, 4000, 8000), (500, 1000, 2000, 4000, 8000, None)
    return [{"from_ms": low, "to_ms": high, "views": n} for low, high, n in zip(lows, highs, views, strict=True)]


DE_GROUP = {
    "group_value": "DE",
    "sessions": 3,
    "median_bandwidth_mbps": 5.0,  # of 2, 5, 8
    "p90_bandwidth_mbps": 8.0,
    "median_ttfb_ms": 400.0,  # of 300, 400, 500
    "median_startup_time_ms": 2000.0,  # of 1500, 2000, 2500
    "rebuffer_ratio": pytest.approx(1500 / ((24 + 0 + 15) * 1000 + 1500)),
    "average_bitrate": 2_250_000.0,  # views A 2.5M and D 2M; B never played
    "qoe": {
        "views": 3,
        "playback_failure_percent": pytest.approx(100 / 3),  # B
        "startup_failure_percent": 0.0,
        "exits_before_start_percent": 0.0,
        "median_startup_time_ms": 2000.0,
        "p95_startup_time_ms": 2500.0,
        "rebuffer_percent": pytest.approx(1500 * 100 / 40_500),
        "rebuffer_per_minute": pytest.approx(2 * 60_000 / 40_500),
        # A: 2M x 10 s + 3M x 10 s; D: 2M x 5 s (heartbeat at 15 s to its end at 20 s).
        "average_bitrate": pytest.approx((20e6 + 30e6 + 10e6) / 25),
        "dropped_frame_percent": 0.0,
        "playback_success_score": pytest.approx(200 / 3),  # A 100, B 0 (failed after its first frame), D 100
        "startup_time_score": pytest.approx((startup_score(1.5) + startup_score(2.5) + startup_score(2)) / 3),
        "smoothness_score": pytest.approx((A_SMOOTHNESS + 100 + 100) / 3),  # B started and never stalled
        "viewer_experience_score": pytest.approx(
            (experience(100, A_SMOOTHNESS, startup_score(1.5)) + 0 + experience(100, 100, startup_score(2))) / 3
        ),
        "startup_time_histogram": histogram(0, 0, 1, 2, 0, 0),  # 1500; 2500 and 2000
        "rendition_times": [
            {"resolution": "720p", "seconds": 15.0, "share": pytest.approx(0.6)},  # A 10 s, D 5 s
            {"resolution": "1080p", "seconds": 10.0, "share": pytest.approx(0.4)},
        ],
        "seek_count": 0,
        "median_seek_latency_ms": None,
        "p95_seek_latency_ms": None,
    },
    # 80 % of 5 Mbps fits 720p (2.5), one rung lower for rebuffering 3.7 % > 2 %.
    "recommended_max_rendition": "480p",
}
FR_GROUP = {
    "group_value": "FR",
    "sessions": 1,
    "median_bandwidth_mbps": 4.0,
    "p90_bandwidth_mbps": 4.0,
    "median_ttfb_ms": 200.0,
    "median_startup_time_ms": 900.0,
    "rebuffer_ratio": 0.0,
    "average_bitrate": 1_200_000.0,
    "qoe": {
        "views": 1,
        "playback_failure_percent": 0.0,
        "startup_failure_percent": 0.0,
        "exits_before_start_percent": 0.0,
        "median_startup_time_ms": 900.0,
        "p95_startup_time_ms": 900.0,
        "rebuffer_percent": 0.0,
        "rebuffer_per_minute": 0.0,
        "average_bitrate": 1_200_000.0,
        "dropped_frame_percent": 0.0,
        "playback_success_score": 100.0,
        "startup_time_score": pytest.approx(startup_score(0.9)),
        "smoothness_score": 100.0,
        "viewer_experience_score": pytest.approx(experience(100, 100, startup_score(0.9))),
        "startup_time_histogram": histogram(0, 1, 0, 0, 0, 0),
        "rendition_times": [{"resolution": "480p", "seconds": 10.0, "share": 1.0}],
        "seek_count": 0,
        "median_seek_latency_ms": None,
        "p95_seek_latency_ms": None,
    },
    "recommended_max_rendition": "720p",
}


def test_bandwidth_by_country_matches_the_hand_computed_figures(scripted: Ingest) -> None:
    response = staff_get(scripted, "/v1/media/bandwidth/stats", period="7d", group_by="country_code")

    assert response.status_code == 200, response.text
    assert response.json() == {"period": "7d", "group_by": "country_code", "groups": [DE_GROUP, FR_GROUP]}


def test_events_another_actor_sent_under_a_view_id_form_a_view_of_their_own(scripted: Ingest) -> None:
    # Another patient of the organization who learned view A's id posts a whole view under it, from
    # another country: slow start, long stalls, a failure.
    owner = scripted.actor_hash
    scripted.new_actor()
    intruder = scripted.actor_hash
    events = [
        start(A, ttfb=9000, load=9000, bandwidth=0.5, connection="cellular"),
        heartbeat(A, 40, watched=5.0, bitrate=300_000, resolution="240p"),
        *stall(A, 41, 20_000),
        end(A, 50, watched=5.0, reason="error"),
    ]
    response = scripted.client.post(
        "/v1/media/events",
        content=msgspec.json.encode(events),
        headers={**scripted.headers(), "Content-Type": "application/json", COUNTRY_HEADER: "IT"},
    )
    assert response.status_code == 202, response.text
    scripted.flush()

    by_owner, by_intruder = qoe(scripted, A, owner), qoe(scripted, A, intruder)
    nobody = qoe(scripted, A, "actor_nobody")
    bandwidth = staff_get(scripted, "/v1/media/bandwidth/stats", period="7d", group_by="country_code")

    assert by_owner.status_code == 200, by_owner.text
    assert by_owner.json() == A_QOE
    intruders = by_intruder.json()
    assert (intruders["startup_time_ms"], intruders["rebuffer_count"], intruders["country_code"]) == (9000, 1, "IT")
    assert (intruders["playback_failed"], intruders["resolution"]) == (True, "240p")
    assert nobody.status_code == 404
    assert nobody.headers["Content-Type"].startswith("application/problem+json")
    # The owner's view stays one of the DE group's three, whose figures are unchanged; the intruder's is
    # a view of its own, in IT.
    assert bandwidth.json()["groups"] == [
        DE_GROUP,
        FR_GROUP,
        {
            "group_value": "IT",
            "sessions": 1,
            "median_bandwidth_mbps": 0.5,
            "p90_bandwidth_mbps": 0.5,
            "median_ttfb_ms": 9000.0,
            "median_startup_time_ms": 9000.0,
            "rebuffer_ratio": pytest.approx(20_000 / (5000 + 20_000)),
            "average_bitrate": 300_000.0,
            "qoe": {
                "views": 1,
                "playback_failure_percent": 100.0,
                "startup_failure_percent": 0.0,
                "exits_before_start_percent": 0.0,
                "median_startup_time_ms": 9000.0,
                "p95_startup_time_ms": 9000.0,
                "rebuffer_percent": 80.0,  # 20 s of stall over 5 s watched + 20 s
                "rebuffer_per_minute": pytest.approx(60_000 / 25_000),
                "average_bitrate": 300_000.0,
                "dropped_frame_percent": 0.0,
                "playback_success_score": 0.0,
                "startup_time_score": pytest.approx(startup_score(9)),
                "smoothness_score": pytest.approx(smoothness(1, 0.8)),
                "viewer_experience_score": 0.0,  # failed: playback success 0 multiplies the rest
                "startup_time_histogram": histogram(0, 0, 0, 0, 0, 1),
                "rendition_times": [{"resolution": "240p", "seconds": 10.0, "share": 1.0}],
                "seek_count": 0,
                "median_seek_latency_ms": None,
                "p95_seek_latency_ms": None,
            },
            "recommended_max_rendition": "240p",
        },
    ]


def test_bandwidth_by_connection_type(scripted: Ingest) -> None:
    response = staff_get(scripted, "/v1/media/bandwidth/stats", period="24h", group_by="connection_type")

    groups = {group["group_value"]: group for group in response.json()["groups"]}
    assert [group["group_value"] for group in response.json()["groups"]] == ["wifi", "cellular"]
    wifi, cellular = groups["wifi"], groups["cellular"]
    assert (wifi["sessions"], wifi["median_bandwidth_mbps"], wifi["median_ttfb_ms"]) == (3, 5.0, 300.0)
    assert wifi["rebuffer_ratio"] == pytest.approx(1500 / ((24 + 30 + 15) * 1000 + 1500))
    assert wifi["average_bitrate"] == pytest.approx((2_500_000 + 1_200_000 + 2_000_000) / 3)
    assert wifi["recommended_max_rendition"] == "480p"
    assert (cellular["sessions"], cellular["median_bandwidth_mbps"], cellular["average_bitrate"]) == (1, 2.0, 0.0)
    assert cellular["recommended_max_rendition"] == "480p"


def test_only_staff_of_the_organization_read_the_figures(scripted: Ingest) -> None:
    patient = scripted.client.get("/v1/media/bandwidth/stats", headers=scripted.headers())
    patient_view = scripted.client.get(
        f"/v1/media/sessions/{A}/qoe", params={"actor_hash": scripted.actor_hash}, headers=scripted.headers()
    )
    scripted.org_hash = "another_org"
    other_org = staff_get(scripted, "/v1/media/bandwidth/stats")
    other_view = qoe(scripted, A)

    assert (patient.status_code, patient_view.status_code) == (403, 403)
    assert other_org.status_code == 200
    assert other_org.json()["groups"] == []
    assert other_view.status_code == 404


@pytest.mark.parametrize("period", ["91d", "0d", "7w", "x"])
def test_a_bad_period_is_refused(scripted: Ingest, period: str) -> None:
    response = staff_get(scripted, "/v1/media/bandwidth/stats", period=period)

    assert response.status_code in (400, 422)


@pytest.mark.parametrize("query", ["", "?actor_hash=", "?actor_hash=a%27%20OR%201%3D1", f"?actor_hash={'a' * 129}"])
def test_a_view_read_needs_a_hashed_actor(scripted: Ingest, query: str) -> None:
    response = scripted.client.get(f"/v1/media/sessions/{A}/qoe{query}", headers=scripted.headers(role="staff"))

    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    # A missing parameter is named in the detail (Litestar gives no per-field list for it).
    body = response.json()
    assert any("actor_hash" in text for text in [body["detail"], *(error["field"] for error in body.get("errors", []))])


# Per-media statistics ------------------------------------------------------------------------------------

MEDIA = "exercise-m"
P, Q, R, ELSEWHERE = (str(uuid.uuid4()) for _ in range(4))


def watched(session: str, second: int, *, completion: float, resolution: str) -> dict[str, Any]:
    event = heartbeat(session, second, watched=float(second), bitrate=2_000_000, resolution=resolution)
    event["data"]["completion_percent"] = completion
    return event


def milestone(session: str, second: int, percent: int) -> dict[str, Any]:
    return {"event": "milestone", "session_id": session, "timestamp": AT.format(second=second),
            "data": {"percent": percent, "position_seconds": float(second)}}  # fmt: skip


def switch(session: str, second: int, *, before: int, after: int, reason: str) -> dict[str, Any]:
    return {"event": "quality_change", "session_id": session, "timestamp": AT.format(second=second),
            "data": {"from_bitrate": before, "to_bitrate": after, "reason": reason}}  # fmt: skip


def media_start(session: str, media_id: str = MEDIA) -> dict[str, Any]:
    return {**start(session, ttfb=300, load=1000, bandwidth=8.0, connection="wifi"), "media_id": media_id}


def finish(session: str, second: int, *, completion: float, completed: bool) -> dict[str, Any]:
    event = end(session, second, watched=float(second), reason="ended" if completed else "user_exit")
    event["data"]["completion_percent"] = completion
    event["data"]["completed"] = completed
    return event


# P watches 60 % at 720p then 480p after an ABR down-switch, reaching 25 and 50. Q watches all of it at
# 1080p after an ABR up-switch (and a user switch, not ABR), and its 50 and 75 milestones were lost.
# R leaves before playing. ELSEWHERE is a view of another media; it must not count.
MEDIA_VIEWS: list[dict[str, Any]] = [
    media_start(P),
    watched(P, 10, completion=20.0, resolution="720p"),
    milestone(P, 15, 25),
    watched(P, 20, completion=40.0, resolution="720p"),
    switch(P, 25, before=2_500_000, after=1_200_000, reason="abr"),
    milestone(P, 30, 50),
    watched(P, 36, completion=60.0, resolution="480p"),
    finish(P, 37, completion=60.0, completed=False),
    media_start(Q),
    switch(Q, 2, before=3_000_000, after=5_000_000, reason="abr"),
    watched(Q, 10, completion=30.0, resolution="1080p"),
    milestone(Q, 15, 25),
    watched(Q, 20, completion=60.0, resolution="1080p"),
    switch(Q, 25, before=5_000_000, after=3_000_000, reason="user"),
    watched(Q, 30, completion=90.0, resolution="1080p"),
    milestone(Q, 32, 95),
    finish(Q, 34, completion=100.0, completed=True),
    media_start(R),
    end(R, 3, watched=0.0, reason="user_exit"),
    media_start(ELSEWHERE, "exercise-other"),
    watched(ELSEWHERE, 10, completion=100.0, resolution="240p"),
]


@pytest.fixture
def media_scripted(ingest: Ingest) -> Ingest:
    """The views above stored under an organization of this test's own, in ClickHouse."""
    ingest.own_organization()
    ingest.store("/v1/media/events", MEDIA_VIEWS)
    ingest.flush()
    return ingest


def test_media_stats_match_the_hand_computed_figures(media_scripted: Ingest) -> None:
    response = staff_get(media_scripted, f"/v1/media/{MEDIA}/stats", period="30d")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body.pop("qoe")["views"] == 3  # its figures are checked in test_video_qoe_*
    assert body == {
        "media_id": MEDIA,
        "period": "30d",
        "views": 3,
        "average_watch_percent": pytest.approx((60 + 100 + 0) / 3),
        "completed_views": 1,
        "completion_rate": pytest.approx(1 / 3),
        "milestones": [
            {"percent": 25, "views": 2, "rate": pytest.approx(2 / 3)},
            {"percent": 50, "views": 2, "rate": pytest.approx(2 / 3)},  # Q's 95 implies 50
            {"percent": 75, "views": 1, "rate": pytest.approx(1 / 3)},
            {"percent": 95, "views": 1, "rate": pytest.approx(1 / 3)},
        ],
        "quality": [
            {"resolution": "1080p", "heartbeats": 3, "share": 0.5},
            {"resolution": "720p", "heartbeats": 2, "share": pytest.approx(2 / 6)},
            {"resolution": "480p", "heartbeats": 1, "share": pytest.approx(1 / 6)},
        ],
        "abr_switches": 2,  # Q's user switch is not ABR
        "abr_up_switches": 1,
        "abr_down_switches": 1,
        "abr_switches_per_view": pytest.approx(2 / 3),
    }


def test_another_actors_events_under_a_view_id_count_as_a_view_of_their_own(media_scripted: Ingest) -> None:
    # Another patient of the organization posts a whole view of the media under P's id: watched to the
    # end at 240p after an ABR up-switch, reaching 95 %. Merged into P, P would count once with 100 %.
    media_scripted.new_actor()
    events = [
        media_start(P),
        switch(P, 2, before=300_000, after=600_000, reason="abr"),
        watched(P, 10, completion=100.0, resolution="240p"),
        milestone(P, 11, 95),
        finish(P, 12, completion=100.0, completed=True),
    ]
    response = media_scripted.client.post(
        "/v1/media/events",
        content=msgspec.json.encode(events),
        headers={**media_scripted.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text
    media_scripted.flush()

    response = staff_get(media_scripted, f"/v1/media/{MEDIA}/stats", period="30d")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body.pop("qoe")["views"] == 4  # its figures are checked in test_video_qoe_*
    assert body == {
        "media_id": MEDIA,
        "period": "30d",
        "views": 4,  # P, Q and R unchanged, and the intruder's view
        "average_watch_percent": pytest.approx((60 + 100 + 0 + 100) / 4),
        "completed_views": 2,
        "completion_rate": 0.5,
        "milestones": [
            {"percent": 25, "views": 3, "rate": 0.75},
            {"percent": 50, "views": 3, "rate": 0.75},
            {"percent": 75, "views": 2, "rate": 0.5},
            {"percent": 95, "views": 2, "rate": 0.5},
        ],
        "quality": [
            {"resolution": "1080p", "heartbeats": 3, "share": pytest.approx(3 / 7)},
            {"resolution": "720p", "heartbeats": 2, "share": pytest.approx(2 / 7)},
            {"resolution": "240p", "heartbeats": 1, "share": pytest.approx(1 / 7)},
            {"resolution": "480p", "heartbeats": 1, "share": pytest.approx(1 / 7)},
        ],
        "abr_switches": 3,
        "abr_up_switches": 2,
        "abr_down_switches": 1,
        "abr_switches_per_view": 0.75,
    }


def test_a_media_without_views_has_zero_views(media_scripted: Ingest) -> None:
    unknown = staff_get(media_scripted, "/v1/media/never-watched/stats")
    media_scripted.org_hash = "another_org"
    other_org = staff_get(media_scripted, f"/v1/media/{MEDIA}/stats")

    for response in (unknown, other_org):
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["views"], body["average_watch_percent"], body["completion_rate"]) == (0, 0.0, 0.0)
        assert [m["views"] for m in body["milestones"]] == [0, 0, 0, 0]
        assert (body["quality"], body["abr_switches_per_view"]) == ([], 0.0)
    assert unknown.json()["period"] == "30d"


def test_media_stats_are_for_staff_only(media_scripted: Ingest) -> None:
    response = media_scripted.client.get(f"/v1/media/{MEDIA}/stats", headers=media_scripted.headers())

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/v1/media/{MEDIA}/stats?period=731d", "period"),
        (f"/v1/media/{MEDIA}/stats?period=soon", "period"),
        ("/v1/media/bad%20id/stats", "media_id"),
    ],
)
def test_bad_media_stats_parameters_are_422_naming_the_field(media_scripted: Ingest, path: str, field: str) -> None:
    response = media_scripted.client.get(path, headers=media_scripted.headers(role="staff"))

    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert any(field in error["field"] for error in response.json()["errors"]), response.json()


# Video QoE to the reference definitions (Mux Data, CTA-2066) --------------------------------------------

QOE_MEDIA = "exercise-q"
V1, V2, V3, V4, V5 = (str(uuid.uuid4()) for _ in range(5))


def intent(session: str, second: int = 0, *, cdn: str) -> dict[str, Any]:
    return {"event": "play_intent", "session_id": session, "media_id": QOE_MEDIA, "timestamp": AT.format(second=second),
            "data": {"connection_type": "wifi", "effective_bandwidth": 10.0, "cdn": cdn}}  # fmt: skip


def first_frame(session: str, second: int, *, load: int | None = None) -> dict[str, Any]:
    data = {"total_duration_seconds": 60.0, "cdn_response_time_ms": 100, "video_load_time_ms": load}
    return {"event": "session_start", "session_id": session, "media_id": QOE_MEDIA,
            "timestamp": AT.format(second=second), "data": data}  # fmt: skip


def player_error(session: str, second: int, code: str, *, fatal: bool) -> dict[str, Any]:
    return {"event": "error", "session_id": session, "timestamp": AT.format(second=second),
            "data": {"code": code, "fatal": fatal}}  # fmt: skip


def stall_edge(session: str, second: int, kind: str, cause: str, duration_ms: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {"position_seconds": float(second), "cause": cause}
    if kind == "buffering_end":
        data["duration_ms"] = duration_ms
    return {"event": kind, "session_id": session, "timestamp": AT.format(second=second), "data": data}


def frames(event: dict[str, Any], dropped: int, total: int) -> dict[str, Any]:
    event["data"].update(dropped_frames=dropped, total_frames=total)
    return event


# V1 (fastly): intent at 0, first frame at 2 (the client's 999 ms is ignored), a seek stall (not
#     rebuffering), a 2 s stall, a recovered error, a stall still open at session_end (28 s to 30 s).
#     Bitrate 2M from the switch at 5 s to the switch to 4M at 20 s, 4M to the end at 30 s.
# V2 (akamai): intent, then a fatal error before any frame: startup failure.
# V3 (fastly): intent, then the patient leaves: exit before start.
# V4 (akamai): intent at 0, first frame at 1, then a fatal error at 12 s: a playback failure after start.
# V5 (no CDN, no intent): an older client's view; startup is its video_load_time_ms.
QOE_VIEWS: list[dict[str, Any]] = [
    intent(V1, cdn="fastly"),
    first_frame(V1, 2, load=999),
    switch(V1, 5, before=1_000_000, after=2_000_000, reason="abr"),
    frames(heartbeat(V1, 10, watched=8.0, bitrate=2_000_000, resolution="720p"), 10, 200),
    stall_edge(V1, 11, "buffering_start", "seek"),
    stall_edge(V1, 12, "buffering_end", "seek", 1000),
    stall_edge(V1, 14, "buffering_start", "playback"),
    stall_edge(V1, 16, "buffering_end", "playback", 2000),
    player_error(V1, 18, "hls:fragLoadError", fatal=False),
    switch(V1, 20, before=2_000_000, after=4_000_000, reason="abr"),
    frames(heartbeat(V1, 25, watched=20.0, bitrate=4_000_000, resolution="1080p"), 30, 600),
    stall_edge(V1, 28, "buffering_start", "playback"),
    end(V1, 30, watched=21.0, reason="user_exit"),
    intent(V2, cdn="akamai"),
    player_error(V2, 3, "MEDIA_ERR_NETWORK", fatal=True),
    intent(V3, cdn="fastly"),
    end(V3, 4, watched=0.0, reason="user_exit"),
    intent(V4, cdn="akamai"),
    first_frame(V4, 1),
    heartbeat(V4, 10, watched=9.0, bitrate=1_000_000, resolution="360p"),
    player_error(V4, 12, "MEDIA_ERR_DECODE", fatal=True),
    first_frame(V5, 0, load=1500),
    heartbeat(V5, 10, watched=10.0, bitrate=3_000_000, resolution="1080p"),
    end(V5, 20, watched=18.0, reason="ended"),
]


@pytest.fixture
def qoe_scripted(ingest: Ingest) -> Ingest:
    """The five views above stored under an organization of this test's own, from Spain."""
    ingest.own_organization()
    ingest.store("/v1/media/events", QOE_VIEWS, **{COUNTRY_HEADER: "ES"})
    ingest.flush()
    return ingest


V1_SMOOTHNESS = smoothness(2, 4000 / 25_000)


def test_video_qoe_of_one_view_matches_the_hand_computed_figures(qoe_scripted: Ingest) -> None:
    v1 = qoe(qoe_scripted, V1).json()
    v2, v3, v4, v5 = (qoe(qoe_scripted, view).json() for view in (V2, V3, V4, V5))

    assert v1 == {
        "session_id": V1,
        "media_id": QOE_MEDIA,
        "country_code": "ES",
        "connection_type": "wifi",
        "cdn": "fastly",
        "resolution": "1080p",
        "bandwidth_mbps": 10.0,
        "ttfb_ms": 0,
        "started": True,
        "startup_time_ms": 2000,  # intent at 0 s to first frame at 2 s
        "rebuffer_count": 2,  # the 2 s stall and the open one; not the seek stall
        "rebuffer_duration_ms": 4000,  # 2000 + (30 s - 28 s)
        "watched_seconds": 21.0,
        "rebuffer_percent": pytest.approx(4000 * 100 / (21_000 + 4000)),
        "rebuffer_per_minute": pytest.approx(2 * 60_000 / 25_000),
        "average_bitrate": pytest.approx((2e6 * 15 + 4e6 * 10) / 25),
        "dropped_frame_percent": pytest.approx(30 * 100 / 600),
        "exited_before_start": False,
        "playback_failed": False,  # its only error was not fatal
        "startup_failed": False,
        "platform": "",
        "seek_count": 1,
        "median_seek_latency_ms": 1000.0,
        "p95_seek_latency_ms": 1000.0,
        "playback_success_score": 100.0,
        "startup_time_score": pytest.approx(startup_score(2)),
        "smoothness_score": pytest.approx(V1_SMOOTHNESS),
        "viewer_experience_score": pytest.approx(experience(100, V1_SMOOTHNESS, startup_score(2))),
    }
    flags = ("started", "playback_failed", "startup_failed", "exited_before_start")
    assert [v2[flag] for flag in flags] == [False, True, True, False]
    assert [v3[flag] for flag in flags] == [False, False, False, True]
    assert [v4[flag] for flag in flags] == [True, True, False, False]
    assert [v5[flag] for flag in flags] == [True, False, False, False]
    assert (v2["media_id"], v2["cdn"], v3["media_id"], v3["country_code"]) == (QOE_MEDIA, "akamai", QOE_MEDIA, "ES")
    assert (v4["startup_time_ms"], v5["startup_time_ms"], v2["startup_time_ms"]) == (1000, 1500, 0)
    assert v4["average_bitrate"] == 1_000_000.0  # heartbeat at 10 s to its last event at 12 s


def test_video_qoe_of_a_media_matches_the_hand_computed_figures(qoe_scripted: Ingest) -> None:
    response = staff_get(qoe_scripted, f"/v1/media/{QOE_MEDIA}/stats", period="30d")

    assert response.status_code == 200, response.text
    assert response.json()["qoe"] == {
        "views": 5,
        "playback_failure_percent": 40.0,  # V2, V4
        "startup_failure_percent": 20.0,  # V2
        "exits_before_start_percent": 20.0,  # V3, not the failed V2
        "median_startup_time_ms": 1500.0,  # of 1000 (V4), 1500 (V5), 2000 (V1)
        "p95_startup_time_ms": 2000.0,
        # Stall 4 s (V1) over watched + stall: V1 25 s, V4 9 s, V5 18 s.
        "rebuffer_percent": pytest.approx(4000 * 100 / 52_000),
        "rebuffer_per_minute": pytest.approx(2 * 60_000 / 52_000),
        # V1 70 Mbit over 25 s, V4 1M x 2 s, V5 3M x 10 s.
        "average_bitrate": pytest.approx((70e6 + 2e6 + 30e6) / 37),
        "dropped_frame_percent": pytest.approx(5.0),
        # V1 100, V2 0 (startup failure), V3 50 (left after 4 s), V4 0 (failed after start), V5 100.
        "playback_success_score": 50.0,
        "startup_time_score": pytest.approx((startup_score(2) + startup_score(1) + startup_score(1.5)) / 3),
        "smoothness_score": pytest.approx((V1_SMOOTHNESS + 100 + 100) / 3),
        "viewer_experience_score": pytest.approx(
            (experience(100, V1_SMOOTHNESS, startup_score(2)) + 0 + 50 + 0 + experience(100, 100, startup_score(1.5)))
            / 5
        ),
        "startup_time_histogram": histogram(0, 0, 2, 1, 0, 0),  # 1000 and 1500; 2000
        # V1's switches named no resolution: 720p 10 s and 1080p 5 s are known, its other 10 s are not. V4
        # 360p 2 s, V5 1080p 10 s.
        "rendition_times": [
            {"resolution": "1080p", "seconds": 15.0, "share": pytest.approx(15 / 27)},
            {"resolution": "720p", "seconds": 10.0, "share": pytest.approx(10 / 27)},
            {"resolution": "360p", "seconds": 2.0, "share": pytest.approx(2 / 27)},
        ],
        "seek_count": 1,
        "median_seek_latency_ms": 1000.0,
        "p95_seek_latency_ms": 1000.0,
    }


def test_video_qoe_grouped_by_cdn(qoe_scripted: Ingest) -> None:
    response = staff_get(qoe_scripted, "/v1/media/bandwidth/stats", period="7d", group_by="cdn")

    assert response.status_code == 200, response.text
    groups = {group["group_value"]: group["qoe"] for group in response.json()["groups"]}
    rates = ("views", "playback_failure_percent", "startup_failure_percent", "exits_before_start_percent")
    assert {cdn: [qoe[rate] for rate in rates] for cdn, qoe in groups.items()} == {
        "fastly": [2, 0.0, 0.0, 50.0],
        "akamai": [2, 100.0, 50.0, 0.0],
        "": [1, 0.0, 0.0, 0.0],
    }
    assert (groups["akamai"]["median_startup_time_ms"], groups["fastly"]["p95_startup_time_ms"]) == (1000.0, 2000.0)

"""Per-view QoE and bandwidth statistics match hand-computed figures for a scripted set of views, on
both ClickHouse engines, and only the organization's staff can read them."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from tests.telemetry.ingest_harness import COUNTRY_HEADER, Ingest

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
    ingest.org_hash = f"org_{uuid.uuid4().hex}"
    for country, events in VIEWS:
        response = ingest.client.post(
            "/v1/media/events",
            content=msgspec.json.encode(events),
            headers={**ingest.headers(), "Content-Type": "application/json", COUNTRY_HEADER: country},
        )
        assert response.status_code == 202, response.text
    ingest.flush()
    return ingest


def staff_get(ingest: Ingest, path: str, **params: str) -> Any:
    return ingest.client.get(path, params=params, headers=ingest.headers(role="staff"))


def test_per_view_qoe_matches_the_hand_computed_figures(scripted: Ingest) -> None:
    a = staff_get(scripted, f"/v1/media/sessions/{A}/qoe")
    b = staff_get(scripted, f"/v1/media/sessions/{B}/qoe")

    assert a.status_code == 200, a.text
    assert a.json() == {
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
        "average_bitrate": 2_500_000.0,
        "exited_before_start": False,
        "playback_failed": False,
    }
    assert b.json()["exited_before_start"] is True
    assert b.json()["playback_failed"] is True
    assert (b.json()["rebuffer_count"], b.json()["rebuffer_percent"], b.json()["average_bitrate"]) == (0, 0.0, 0.0)


def test_bandwidth_by_country_matches_the_hand_computed_figures(scripted: Ingest) -> None:
    response = staff_get(scripted, "/v1/media/bandwidth/stats", period="7d", group_by="country_code")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "period": "7d",
        "group_by": "country_code",
        "groups": [
            {
                "group_value": "DE",
                "sessions": 3,
                "median_bandwidth_mbps": 5.0,  # of 2, 5, 8
                "p90_bandwidth_mbps": 8.0,
                "median_ttfb_ms": 400.0,  # of 300, 400, 500
                "median_startup_time_ms": 2000.0,  # of 1500, 2000, 2500
                "rebuffer_ratio": pytest.approx(1500 / ((24 + 0 + 15) * 1000 + 1500)),
                "average_bitrate": 2_250_000.0,  # views A 2.5M and D 2M; B never played
                # 80 % of 5 Mbps fits 720p (2.5), one rung lower for rebuffering 3.7 % > 2 %.
                "recommended_max_rendition": "480p",
            },
            {
                "group_value": "FR",
                "sessions": 1,
                "median_bandwidth_mbps": 4.0,
                "p90_bandwidth_mbps": 4.0,
                "median_ttfb_ms": 200.0,
                "median_startup_time_ms": 900.0,
                "rebuffer_ratio": 0.0,
                "average_bitrate": 1_200_000.0,
                "recommended_max_rendition": "720p",
            },
        ],
    }


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
    patient_view = scripted.client.get(f"/v1/media/sessions/{A}/qoe", headers=scripted.headers())
    scripted.org_hash = "another_org"
    other_org = staff_get(scripted, "/v1/media/bandwidth/stats")
    other_view = staff_get(scripted, f"/v1/media/sessions/{A}/qoe")

    assert (patient.status_code, patient_view.status_code) == (403, 403)
    assert other_org.status_code == 200
    assert other_org.json()["groups"] == []
    assert other_view.status_code == 404


@pytest.mark.parametrize("period", ["91d", "0d", "7w", "x"])
def test_a_bad_period_is_refused(scripted: Ingest, period: str) -> None:
    response = staff_get(scripted, "/v1/media/bandwidth/stats", period=period)

    assert response.status_code in (400, 422)

"""Per-actor rate limits: a burst over the limit gets 429 with Retry-After and stores nothing of the
refused request, another actor is unaffected, and the limiter's memory stays bounded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from telemetry.ingest.ratelimit import RateLimiter
from telemetry.settings import RateLimitSettings

from tests.telemetry.helpers.harness import Ingest, ingest_app


@pytest.fixture(scope="module", params=["server", "embedded"])
def limited(request: pytest.FixtureRequest, chdb_dir: Path, dev_keys: Path) -> Iterator[Ingest]:
    """The telemetry app allowing bursts of 3 requests, refilled at one per 100 s."""
    yield from ingest_app(
        request, request.param, chdb_dir, dev_keys, RateLimitSettings(requests_per_second=0.01, burst=3)
    )


def track(ingest: Ingest, marker: int) -> httpx.Response:
    event = {
        "event_name": "treatment_plan.session_started",
        "event_category": "treatment_plan",
        "timestamp": "2026-02-16T09:00:00Z",
        "resource_type": "session",
        "resource_id": str(marker),
    }
    return ingest.client.post(
        "/v1/analytics/track",
        content=msgspec.json.encode(event),
        headers={**ingest.headers(), "Content-Type": "application/json"},
    )


def test_a_burst_over_the_limit_gets_429_and_stores_nothing_of_it(limited: Ingest) -> None:
    limited.new_actor()
    answers = [track(limited, marker) for marker in range(5)]

    assert [answer.status_code for answer in answers] == [202, 202, 202, 429, 429]
    refused = answers[3]
    assert refused.headers["Retry-After"] == "100"
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("rate-limited")
    assert refused.json()["status"] == 429
    assert [row["resource_id"] for row in limited.mine("analytics_events", "resource_id", "resource_id")] == [
        "0",
        "1",
        "2",
    ]


def test_another_actor_is_unaffected(limited: Ingest) -> None:
    limited.new_actor()
    spent = [track(limited, marker).status_code for marker in range(4)]
    limited.new_actor()
    other = [track(limited, marker).status_code for marker in range(3)]

    assert spent == [202, 202, 202, 429]
    assert other == [202, 202, 202]
    assert len(limited.mine("analytics_events", "resource_id")) == 3


def test_the_limit_counts_every_ingest_route(limited: Ingest) -> None:
    limited.new_actor()
    for marker in range(3):
        assert track(limited, marker).status_code == 202

    refused = limited.client.post(
        "/v1/errors/report",
        content=msgspec.json.encode(
            {
                "error_type": "TypeError",
                "message": "x",
                "timestamp": "2026-02-16T09:00:00Z",
                "app_version": "1.0.0",
                "platform": "web",
            }
        ),
        headers={**limited.headers(), "Content-Type": "application/json"},
    )

    assert refused.status_code == 429
    assert limited.mine("error_reports", "actor_hash") == []


def test_a_beacon_spends_the_same_bucket(limited: Ingest) -> None:
    limited.new_actor()
    for marker in range(2):
        assert track(limited, marker).status_code == 202
    beacon = {
        "token": limited.headers()["Authorization"].removeprefix("Bearer "),
        "analytics_events": [
            {
                "event_name": "treatment_plan.session_left",
                "event_category": "treatment_plan",
                "timestamp": "2026-02-16T09:00:00Z",
                "resource_type": "session",
                "resource_id": "beacon",
            }
        ],
    }

    def send() -> httpx.Response:
        return limited.client.post(
            "/v1/beacon", content=msgspec.json.encode(beacon), headers={"Content-Type": "text/plain"}
        )

    answers = [send(), send()]

    assert [answer.status_code for answer in answers] == [202, 429]
    assert answers[1].headers["Retry-After"] == "100"
    assert track(limited, 9).status_code == 429
    assert [row["resource_id"] for row in limited.mine("analytics_events", "resource_id", "resource_id")] == [
        "0",
        "1",
        "beacon",
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, 4, 10, clock=clock)

    assert [limiter.acquire("a") for _ in range(5)] == [0.0, 0.0, 0.0, 0.0, 0.5]
    clock.now += 0.5
    assert [limiter.acquire("a"), limiter.acquire("a")] == [0.0, 0.5]
    clock.now += 10.0  # idle long enough to be full again, and no fuller
    assert [limiter.acquire("a") for _ in range(5)] == [0.0, 0.0, 0.0, 0.0, 0.5]


def test_memory_is_bounded_by_evicting_the_least_recently_seen_actor() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 1, 2, clock=clock)

    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("b") == 0.0
    assert limiter.acquire("a") == 1.0  # a was seen last, so b is next to go
    assert limiter.acquire("c") == 0.0
    assert len(limiter) == 2
    assert limiter.acquire("a") == 1.0  # still remembered
    assert limiter.acquire("b") == 0.0  # forgotten, so it starts with a full bucket


def test_a_rate_of_zero_turns_limiting_off() -> None:
    limiter = RateLimiter(0.0, 1, 1)

    assert {limiter.acquire("a") for _ in range(1000)} == {0.0}
    assert len(limiter) == 0

"""Per-actor rate limits on the ingest routes: a token bucket per hashed actor id, in process memory.

A bucket holds up to ``burst`` requests and refills at ``requests_per_second``. Buckets live in an LRU
map of at most ``max_keys`` actors, so memory stays bounded whatever the number of tokens presented: the
least recently seen actor is forgotten first, and comes back with a full bucket (tokens are signed by
core-api, so no client can mint actors to push others out). Each process limits on its own; behind N
replicas an actor gets up to N times the rate, which is what a per-process limit can promise.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from service_common.errors import DomainError

from telemetry.identity import telemetry_actor


class RateLimitedError(DomainError):
    """The caller spent its bucket; it may send again after ``retry_after_seconds``."""

    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class RateLimiter:
    """Token buckets keyed by actor hash, at most ``max_keys`` of them (least recently used evicted).

    Each bucket is kept as one number, the moment it will be full again (the generic cell rate
    algorithm's "theoretical arrival time"), which is the token bucket in a form that needs one float
    per actor and no timer: a request at ``now`` is allowed while that moment is at most
    ``(burst - 1) / rate`` seconds ahead, and moves it ``1 / rate`` seconds further.
    """

    def __init__(
        self,
        requests_per_second: float,
        burst: int,
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if requests_per_second < 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate limits need requests_per_second >= 0, burst >= 1 and max_keys >= 1")
        self.rate = requests_per_second
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._interval = 1.0 / requests_per_second if requests_per_second > 0 else 0.0
        self._tolerance = (burst - 1) * self._interval
        # actor hash -> when its bucket is full again; least recently used first.
        self._full_at: OrderedDict[str, float] = OrderedDict()

    @property
    def enabled(self) -> bool:
        """A rate of 0 turns limiting off (benchmarks, a gateway in front that limits already)."""
        return self.rate > 0

    def __len__(self) -> int:
        return len(self._full_at)

    def acquire(self, key: str) -> float:
        """Take one request from ``key``'s bucket: 0.0 when allowed, else the seconds until one is free."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        full_at = max(self._full_at.pop(key, now), now)
        wait = full_at - now - self._tolerance
        if wait <= 0:
            full_at += self._interval
            wait = 0.0
        self._full_at[key] = full_at
        if len(self._full_at) > self.max_keys:
            self._full_at.popitem(last=False)
        return wait


async def rate_limit(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard answering 429 with Retry-After when the caller's actor is over its rate; it runs before
    the body is read, so a refused request stores nothing."""
    if connection.scope.get("method") == "OPTIONS":
        return
    limiter: RateLimiter = connection.app.state.rate_limiter
    wait = limiter.acquire(telemetry_actor(connection).actor_hash)
    if wait > 0:
        raise RateLimitedError(
            f"This device sends more than {limiter.rate:g} requests per second (bursts of {limiter.burst}); "
            "retry after the Retry-After seconds.",
            retry_after_seconds=max(1, math.ceil(wait)),
        )

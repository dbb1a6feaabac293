"""A clock a test moves by hand, for the verifiers that take ``clock=`` (tokens' times, the user-check cache)."""

from __future__ import annotations


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

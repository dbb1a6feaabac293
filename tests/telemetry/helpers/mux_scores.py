"""Mux Data's published score formulas (docs/telemetry.md, "Read routes"), for hand-computing expected figures."""

from __future__ import annotations

import math


def startup_score(seconds: float) -> float:
    """Startup time score of a view that started after ``seconds``: 8 / (8 + seconds) x 100."""
    return 8 / (8 + seconds) * 100


def smoothness(rebuffers: int, ratio: float) -> float:
    """Smoothness score: the mean of 100 / sqrt(1 + (rebuffers / 2)^2) and 100 x e^(-10 x ratio)."""
    return (100 / math.sqrt(1 + (rebuffers / 2) ** 2) + 100 * math.exp(-10 * ratio)) / 2


def experience(playback_success: float, smoothness_score: float, startup_time_score: float) -> float:
    """Viewer experience of a view that started: playback success / 100 x the mean of the other two."""
    return playback_success * (smoothness_score + startup_time_score) / 200

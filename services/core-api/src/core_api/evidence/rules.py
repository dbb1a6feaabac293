"""The rules of verified adherence: what telemetry's measurements say about what the app reported.

Pure functions of a log's reported fields, telemetry's :class:`~contracts.session_evidence.SessionEvidence`
for its session (or nothing), what the patient's consent at completion allowed, and the organization's
thresholds. docs/adherence.md, "Verified adherence", states them in words; the property tests in
tests/core_api/evidence/test_evidence_rules.py check them.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from contracts.exercise_logs import EvidenceState
from contracts.session_evidence import SessionEvidence

from core_api.consent.repository import Current

MAX_MEASURED_REPS = 10_000
"""The most repetitions a log stores (the column's check); a larger count is stored as this."""


class Allowed(msgspec.Struct, frozen=True):
    """The evidence the patient's consent allowed when the session was completed."""

    media: bool
    """Media evidence (the player's events): analytics level 2 or above."""
    pose: bool
    """Pose evidence (the tracker's frames): that and biometric consent, as pose tracking itself needs."""


class Reported(msgspec.Struct, frozen=True):
    """What the app reported for one exercise."""

    skipped: bool
    video_watched: bool
    video_watch_percentage: float | None
    actual_sets: int | None
    actual_reps: int | None


class Thresholds(msgspec.Struct, frozen=True):
    """The organization's thresholds for "contradicted"."""

    min_watch_percent: int
    rep_tolerance: int


class LogEvidence(msgspec.Struct, frozen=True):
    """A log's state and the measured figures stored beside the reported ones."""

    state: EvidenceState
    measured_watch_percentage: float | None = None
    measured_reps: int | None = None
    mean_form_score: float | None = None


def allowed(consent: Current) -> Allowed:
    """The evidence ``consent`` allows."""
    return Allowed(media=consent.analytics_level >= 2, pose=consent.pose_tracking_allowed)


def expected_state(skipped: bool, allowed: Allowed) -> EvidenceState:
    """A log's state when its session is completed: ``pending`` until collected, or ``not_collected`` for a
    skipped exercise and when the consent allows no evidence (media evidence is the least any allows)."""
    return EvidenceState.NOT_COLLECTED if skipped or not allowed.media else EvidenceState.PENDING


def reported_total_reps(reported: Reported) -> int | None:
    """The repetitions the app reported for the whole exercise: ``actual_reps`` is per set, and the pose
    tracker's ``rep_count`` counts over the whole pose session, so it is ``actual_reps * actual_sets`` (one
    set when no sets were reported); ``None`` when no repetitions were reported."""
    if reported.actual_reps is None:
        return None
    return reported.actual_reps * (1 if reported.actual_sets is None else reported.actual_sets)


def claims_watched(reported: Reported, thresholds: Thresholds) -> bool:
    """The app reported the video watched: ``video_watched``, or a reported share at the threshold or above."""
    return reported.video_watched or (
        reported.video_watch_percentage is not None and reported.video_watch_percentage >= thresholds.min_watch_percent
    )


def log_evidence(
    reported: Reported, evidence: SessionEvidence | None, allowed: Allowed, thresholds: Thresholds
) -> LogEvidence:
    """The state of one log after a collection, with the figures measured for it.

    - ``not_collected``: the exercise was skipped, or the consent allowed no evidence;
    - ``contradicted``: the app reported the video watched but the player measured less than
      ``min_watch_percent`` of it, or (pose allowed and frames arrived) the reported repetitions differ from
      the counted ones by more than ``rep_tolerance``;
    - ``verified``: every part the consent allowed arrived (media; pose too with biometric consent), and none
      contradicts the report;
    - ``partial``: otherwise: an allowed part did not arrive (nothing at all, included).

    Pose figures are used only when the consent allowed pose evidence."""
    if expected_state(reported.skipped, allowed) == EvidenceState.NOT_COLLECTED:
        return LogEvidence(state=EvidenceState.NOT_COLLECTED)
    media = evidence.media if evidence is not None else None
    pose = evidence.pose if evidence is not None and allowed.pose else None
    if pose is not None and pose.frames == 0:
        pose = None
    watch_contradicted = (
        media is not None
        and claims_watched(reported, thresholds)
        and media.watch_percentage < thresholds.min_watch_percent
    )
    total = reported_total_reps(reported)
    reps_contradicted = (
        pose is not None and total is not None and abs(total - pose.reps_counted) > thresholds.rep_tolerance
    )
    if watch_contradicted or reps_contradicted:
        state = EvidenceState.CONTRADICTED
    elif media is None or (allowed.pose and pose is None):
        state = EvidenceState.PARTIAL
    else:
        state = EvidenceState.VERIFIED
    return LogEvidence(
        state=state,
        measured_watch_percentage=None if media is None else media.watch_percentage,
        measured_reps=None if pose is None else min(pose.reps_counted, MAX_MEASURED_REPS),
        mean_form_score=None if pose is None else pose.mean_form_score,
    )


def completion_state(states: Iterable[EvidenceState]) -> EvidenceState:
    """A completion's state over its logs' states: ``contradicted`` if any is, else ``pending`` if any is,
    else ``not_collected`` if all are (or there are none), else ``verified`` if every other one is, else
    ``partial``."""
    seen = list(states)
    if EvidenceState.CONTRADICTED in seen:
        return EvidenceState.CONTRADICTED
    if EvidenceState.PENDING in seen:
        return EvidenceState.PENDING
    counted = [state for state in seen if state != EvidenceState.NOT_COLLECTED]
    if not counted:
        return EvidenceState.NOT_COLLECTED
    if all(state == EvidenceState.VERIFIED for state in counted):
        return EvidenceState.VERIFIED
    return EvidenceState.PARTIAL

"""The rules of verified adherence (core_api/evidence/rules.py), by example and by property."""

from __future__ import annotations

from uuid import UUID

from contracts.exercise_logs import EvidenceState
from contracts.session_evidence import MediaEvidence, PoseEvidence, SessionEvidence
from core_api.evidence.rules import (
    Allowed,
    Reported,
    Thresholds,
    completion_state,
    expected_state,
    log_evidence,
    reported_total_reps,
)
from hypothesis import given
from hypothesis import strategies as st

SESSION = UUID("00000000-0000-4000-8000-000000000001")
THRESHOLDS = Thresholds(min_watch_percent=50, rep_tolerance=2)
BOTH = Allowed(media=True, pose=True)
MEDIA_ONLY = Allowed(media=True, pose=False)


def media(percent: float) -> MediaEvidence:
    return MediaEvidence(
        events=5,
        watched_seconds=percent,
        watch_percentage=percent,
        milestones_reached=[m for m in (25, 50, 75, 95) if m <= percent],
        completed=percent >= 95,
        buffering_count=0,
        buffering_seconds=0.0,
    )


def pose(reps: int, form: float | None = 80.0, frames: int = 300) -> PoseEvidence:
    return PoseEvidence(
        frames=frames,
        reps_counted=reps,
        mean_form_score=form,
        rom_min_degrees=10.0,
        rom_max_degrees=90.0,
        low_visibility_frames=0,
    )


def evidence(media_part: MediaEvidence | None, pose_part: PoseEvidence | None) -> SessionEvidence:
    return SessionEvidence(actor_hash="a" * 43, session_id=SESSION, media=media_part, pose=pose_part)


def reported(
    *,
    skipped: bool = False,
    watched: bool = True,
    percent: float | None = 100.0,
    sets: int | None = 3,
    reps: int | None = 10,
) -> Reported:
    return Reported(
        skipped=skipped, video_watched=watched, video_watch_percentage=percent, actual_sets=sets, actual_reps=reps
    )


# Examples ---------------------------------------------------------------------------------------------------


def test_agreeing_media_and_pose_verify_the_log_with_the_measured_figures() -> None:
    result = log_evidence(reported(), evidence(media(92.5), pose(31, 84.2)), BOTH, THRESHOLDS)
    assert result.state == EvidenceState.VERIFIED
    assert (result.measured_watch_percentage, result.measured_reps, result.mean_form_score) == (92.5, 31, 84.2)


def test_reported_reps_are_per_set_and_the_tracker_counts_the_whole_exercise() -> None:
    assert reported_total_reps(reported(sets=3, reps=10)) == 30
    assert reported_total_reps(reported(sets=None, reps=10)) == 10
    assert reported_total_reps(reported(reps=None)) is None
    # 30 reported, 27 counted: 3 apart, over the tolerance of 2.
    assert log_evidence(reported(), evidence(media(100), pose(27)), BOTH, THRESHOLDS).state == "contradicted"
    assert log_evidence(reported(), evidence(media(100), pose(28)), BOTH, THRESHOLDS).state == "verified"


def test_a_video_reported_watched_but_measured_under_the_threshold_is_contradicted() -> None:
    assert log_evidence(reported(), evidence(media(49.9), None), MEDIA_ONLY, THRESHOLDS).state == "contradicted"
    # Not reported watched, and a reported share under the threshold: nothing to contradict.
    quiet = reported(watched=False, percent=20.0)
    assert log_evidence(quiet, evidence(media(10), None), MEDIA_ONLY, THRESHOLDS).state == "verified"
    # The reported share alone claims it.
    claimed = reported(watched=False, percent=60.0)
    assert log_evidence(claimed, evidence(media(10), None), MEDIA_ONLY, THRESHOLDS).state == "contradicted"


def test_a_missing_allowed_part_is_partial_and_pose_without_consent_is_ignored() -> None:
    assert log_evidence(reported(), None, BOTH, THRESHOLDS).state == "partial"
    assert log_evidence(reported(), evidence(media(100), None), BOTH, THRESHOLDS).state == "partial"
    assert log_evidence(reported(), evidence(None, pose(30)), BOTH, THRESHOLDS).state == "partial"
    assert log_evidence(reported(), evidence(media(100), pose(30, frames=0)), BOTH, THRESHOLDS).state == "partial"
    ignored = log_evidence(reported(), evidence(media(100), pose(3)), MEDIA_ONLY, THRESHOLDS)
    assert (ignored.state, ignored.measured_reps, ignored.mean_form_score) == ("verified", None, None)


def test_skipped_exercises_and_consent_without_media_are_not_collected() -> None:
    nothing = Allowed(media=False, pose=False)
    assert expected_state(True, BOTH) == expected_state(False, nothing) == "not_collected"
    assert expected_state(False, MEDIA_ONLY) == "pending"
    assert log_evidence(reported(skipped=True), evidence(media(0), None), BOTH, THRESHOLDS).state == "not_collected"
    assert log_evidence(reported(), evidence(media(0), None), nothing, THRESHOLDS).state == "not_collected"


def test_a_completion_takes_the_worst_of_its_logs() -> None:
    s = EvidenceState
    assert completion_state([s.VERIFIED, s.CONTRADICTED, s.PENDING]) == s.CONTRADICTED
    assert completion_state([s.VERIFIED, s.PENDING]) == s.PENDING
    assert completion_state([s.VERIFIED, s.NOT_COLLECTED]) == s.VERIFIED
    assert completion_state([s.VERIFIED, s.PARTIAL]) == s.PARTIAL
    assert completion_state([s.NOT_COLLECTED, s.NOT_COLLECTED]) == s.NOT_COLLECTED
    assert completion_state([]) == s.NOT_COLLECTED


# Properties -------------------------------------------------------------------------------------------------

percentages = st.floats(min_value=0, max_value=100, allow_nan=False)
reports = st.builds(
    Reported,
    skipped=st.booleans(),
    video_watched=st.booleans(),
    video_watch_percentage=st.none() | percentages,
    actual_sets=st.none() | st.integers(0, 100),
    actual_reps=st.none() | st.integers(0, 1000),
)
medias = st.none() | percentages.map(media)
poses = st.none() | st.builds(pose, st.integers(0, 200_000), st.none() | percentages, st.integers(0, 5000))
evidences = st.none() | st.builds(evidence, medias, poses)
alloweds = st.builds(Allowed, media=st.booleans(), pose=st.booleans()).filter(lambda a: a.media or not a.pose)
thresholds = st.builds(Thresholds, min_watch_percent=st.integers(0, 100), rep_tolerance=st.integers(0, 1000))


@given(reports, evidences, alloweds, thresholds)
def test_the_state_follows_the_definitions(
    report: Reported, answer: SessionEvidence | None, permitted: Allowed, limits: Thresholds
) -> None:
    result = log_evidence(report, answer, permitted, limits)
    if report.skipped or not permitted.media:
        assert result == log_evidence(report, None, permitted, limits)
        assert result.state == EvidenceState.NOT_COLLECTED
        return
    got_media = answer.media if answer else None
    got_pose = answer.pose if answer and answer.pose and permitted.pose and answer.pose.frames > 0 else None
    percent = report.video_watch_percentage
    claimed = report.video_watched or (percent is not None and percent >= limits.min_watch_percent)
    sets = 1 if report.actual_sets is None else report.actual_sets
    total = None if report.actual_reps is None else report.actual_reps * sets
    contradicted = (got_media is not None and claimed and got_media.watch_percentage < limits.min_watch_percent) or (
        got_pose is not None and total is not None and abs(total - got_pose.reps_counted) > limits.rep_tolerance
    )
    complete = got_media is not None and (got_pose is not None or not permitted.pose)
    expected = "contradicted" if contradicted else "verified" if complete else "partial"
    assert result.state == expected
    assert result.measured_watch_percentage == (got_media.watch_percentage if got_media else None)
    assert result.mean_form_score == (got_pose.mean_form_score if got_pose else None)
    assert result.measured_reps == (min(got_pose.reps_counted, 10_000) if got_pose else None)


@given(reports, evidences, thresholds)
def test_withdrawing_pose_consent_never_turns_a_log_contradicted_or_loses_media(
    report: Reported, answer: SessionEvidence | None, limits: Thresholds
) -> None:
    with_pose = log_evidence(report, answer, BOTH, limits)
    without = log_evidence(report, answer, MEDIA_ONLY, limits)
    assert with_pose.state == "contradicted" or without.state != "contradicted"
    assert with_pose.measured_watch_percentage == without.measured_watch_percentage


states = st.sampled_from(list(EvidenceState))


@given(st.lists(states, max_size=8), st.randoms())
def test_a_completions_state_ignores_order_and_not_collected_logs(logs: list[EvidenceState], rng: object) -> None:
    shuffled = list(logs)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert completion_state(shuffled) == completion_state(logs)
    assert completion_state([*logs, EvidenceState.NOT_COLLECTED]) == completion_state(logs)
    result = completion_state(logs)
    assert (result == "contradicted") == ("contradicted" in logs)
    if result == EvidenceState.VERIFIED:
        assert "verified" in logs
        assert set(logs) <= {"verified", "not_collected"}
    if len(logs) == 1:
        assert result == logs[0]

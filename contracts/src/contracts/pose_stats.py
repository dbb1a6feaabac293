"""Pose read routes (staff): one session's pose statistics and an exercise's form issues.

Figures computed by ClickHouse over an organization's rows; docs/telemetry.md defines each.
"""

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from contracts.pose import ExercisePhase

AverageFormScore = Annotated[
    float | None,
    Meta(description="Mean form score (0-1) of the frames with a body in view; null when none had."),
]


class PoseTrendBucket(msgspec.Struct, frozen=True, kw_only=True):
    """The frames of one minute of a pose session, or of one repetition."""

    bucket: Annotated[
        int,
        Meta(
            description=(
                "Minute since the session started (``elapsed_ms`` // 60 000), or the repetition: "
                "frames taken while the device had counted ``bucket`` completed reps (bucket 0 is"
                " the first repetition's movement)."
            )
        ),
    ]
    start_ms: Annotated[
        int,
        Meta(description="``elapsed_ms`` of the bucket's first frame. In milliseconds since the session started."),
    ]
    frames: Annotated[int, Meta(description="Frames in the bucket.")]
    reps: Annotated[int, Meta(description="Completed repetitions at the bucket's last frame.")]
    average_form_score: AverageFormScore
    average_rom_degrees: Annotated[
        float | None,
        Meta(description="Mean range of motion of the frames that reported one, in degrees; null when none did."),
    ]
    max_rom_degrees: Annotated[
        float | None,
        Meta(description="Largest range of motion reported in the bucket, in degrees; null when none was."),
    ]


class CameraCapability(msgspec.Struct, frozen=True, kw_only=True):
    """Frames captured at one camera resolution and how long the device took to process them."""

    camera_resolution: Annotated[str, Meta(description="Camera frame size, width x height in pixels (`640x480`).")]
    frames: Annotated[int, Meta(description="Frames captured at this resolution.")]
    share: Annotated[float, Meta(description="``frames`` over the session's frames, 0-1.")]
    average_processing_time_ms: Annotated[
        float,
        Meta(description="Mean per-frame processing time on the device, in milliseconds."),
    ]
    median_processing_time_ms: Annotated[float, Meta(description="Median per-frame processing time, in milliseconds.")]
    p95_processing_time_ms: Annotated[
        float,
        Meta(description="95th percentile of per-frame processing time, in milliseconds."),
    ]


PoseBucket = Literal["minute", "rep"]

Joint = Literal[
    "left_knee", "right_knee", "left_hip", "right_hip", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow"
]


class JointRange(msgspec.Struct, frozen=True, kw_only=True):
    """One joint's angle over the frames of a repetition, from the world landmarks (docs/telemetry.md)."""

    joint: Annotated[
        Joint,
        Meta(
            description=(
                "The joint: knee (hip-knee-ankle), hip (shoulder-hip-knee), shoulder (elbow-shoulder-hip) "
                "or elbow (shoulder-elbow-wrist), left or right."
            )
        ),
    ]
    frames: Annotated[int, Meta(description="Frames of the repetition whose world landmarks gave this angle.")]
    min_angle_degrees: Annotated[
        float | None, Meta(description="Smallest angle, in degrees (0-180); null without such frames.")
    ]
    max_angle_degrees: Annotated[
        float | None, Meta(description="Largest angle, in degrees (0-180); null without such frames.")
    ]
    rom_degrees: Annotated[
        float | None,
        Meta(description="Range of motion: largest minus smallest angle, in degrees; null without such frames."),
    ]


class PhaseDuration(msgspec.Struct, frozen=True, kw_only=True):
    """Time a repetition spent in one movement phase."""

    phase: Annotated[ExercisePhase, Meta(description="The `active_exercise_phase` the device reported.")]
    duration_ms: Annotated[
        int,
        Meta(
            description=(
                "Sum, over consecutive frames of the repetition, of the time from a frame in this phase to the "
                "next frame, in milliseconds."
            )
        ),
    ]


class PoseRepetition(msgspec.Struct, frozen=True, kw_only=True):
    """One repetition: the frames taken while the device had counted `rep` completed reps."""

    rep: Annotated[int, Meta(description="The `rep_count` of the repetition's frames (0 is the first movement).")]
    start_ms: Annotated[int, Meta(description="`elapsed_ms` of its first frame, in milliseconds.")]
    duration_ms: Annotated[int, Meta(description="Last frame's `elapsed_ms` minus the first's, in milliseconds.")]
    frames: Annotated[int, Meta(description="Frames of the repetition.")]
    client_max_rom_degrees: Annotated[
        float | None,
        Meta(description="Largest `rom_degrees` the device reported in the repetition; null when none did."),
    ]
    joints: Annotated[list[JointRange], Meta(description="Per-joint angle range, computed by the server.")]
    tempo: Annotated[list[PhaseDuration], Meta(description="Time per movement phase, longest first.")]


FormIssue = Annotated[str, Meta(description="The form issue code, such as `knee_valgus`.")]


class FormIssueCount(msgspec.Struct, frozen=True, kw_only=True):
    """How often the device reported one form issue."""

    issue: FormIssue
    frames: Annotated[int, Meta(description="Frames that reported it.")]
    reps: Annotated[int, Meta(description="Repetitions with at least one frame that reported it.")]


class PoseSessionStats(msgspec.Struct, frozen=True, kw_only=True):
    """Form, range of motion, repetitions and device capability of one pose-tracking session."""

    session_id: Annotated[str, Meta(description="The pose-tracking session id.")]
    media_id: Annotated[str, Meta(description="Hashed id of the exercise video the frames were taken with.")]
    frames: Annotated[int, Meta(description="Frames the patient sent under the session.")]
    duration_ms: Annotated[int, Meta(description="Last frame's ``elapsed_ms`` minus the first's. In milliseconds.")]
    reps: Annotated[int, Meta(description="The largest ``rep_count`` the device reported.")]
    average_form_score: AverageFormScore
    frames_without_body: Annotated[int, Meta(description="Frames without a form score (no body in view).")]
    average_rom_degrees: Annotated[
        float | None,
        Meta(description="Mean range of motion over the frames that reported one, in degrees; null when none did."),
    ]
    max_rom_degrees: Annotated[
        float | None,
        Meta(description="Largest range of motion reported, in degrees; null when none was."),
    ]
    average_pose_confidence: Annotated[
        float | None,
        Meta(description="Mean pose confidence of the frames that reported one, 0-1; null when none did."),
    ]
    bucket: Annotated[
        PoseBucket,
        Meta(description="How `trend` is bucketed: `minute` (per minute of the session) or `rep` (per repetition)."),
    ]
    trend: Annotated[list[PoseTrendBucket], Meta(description="Buckets in order.")]
    devices: Annotated[list[CameraCapability], Meta(description="Camera resolutions, most frames first.")]
    repetitions: Annotated[
        list[PoseRepetition],
        Meta(description="Per repetition, in order: joint ranges of motion from the world landmarks, and tempo."),
    ]
    form_issues: Annotated[
        list[FormIssueCount],
        Meta(description="The session's most common form issues, up to 10, most frames first."),
    ]


class ExerciseFormIssue(msgspec.Struct, frozen=True, kw_only=True):
    """How often one form issue was reported while patients followed one exercise video."""

    issue: FormIssue
    sessions: Annotated[
        int,
        Meta(description="Pose sessions (one patient's frames under one session id) with a frame that reported it."),
    ]
    session_share: Annotated[
        float,
        Meta(description="`sessions` over the exercise's pose sessions in the period, 0-1."),
    ]
    reps: Annotated[
        int,
        Meta(description="Repetitions (one `rep_count` of one session) with a frame that reported it."),
    ]
    frames: Annotated[int, Meta(description="Frames that reported it (a code listed twice in a frame counts once).")]


class ExerciseFormIssues(msgspec.Struct, frozen=True, kw_only=True):
    """The most common form issues of one exercise video over an organization's pose sessions."""

    media_id: Annotated[str, Meta(description="Hashed id of the exercise video the pose batches named.")]
    period: Annotated[str, Meta(description="The period covered, as asked (`30d`, `12h`), over arrival time.")]
    sessions: Annotated[
        int,
        Meta(description="Pose sessions with frames of the exercise that arrived in the period."),
    ]
    frames: Annotated[int, Meta(description="Frames of the exercise that arrived in the period.")]
    issues: Annotated[
        list[ExerciseFormIssue],
        Meta(
            description=(
                "Up to `limit` issue codes, in most sessions first, then most frames, then by code; "
                "empty when no frame reported one."
            )
        ),
    ]

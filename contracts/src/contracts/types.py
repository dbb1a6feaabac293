"""Reusable field constraints shared by every contract Struct, and fields described alike in several.

Each alias is an ``Annotated[..., msgspec.Meta(...)]`` so the bound is enforced when msgspec decodes a
request and shows up in the generated JSON Schema / OpenAPI document.

Non-finite floats: msgspec's JSON decoder refuses the ``NaN``/``Infinity`` tokens (a ``DecodeError``)
and numbers too large for a double such as ``1e400`` (a ``ValidationError``), so a float decoded from
JSON is always finite. ``msgspec.convert`` from Python objects and the msgpack decoder do let NaN
through an unbounded ``float``; every float alias here has both bounds, and a NaN fails a bound check.
"""

import re
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta

# Largest PostgreSQL bigint: an id above it would fail inside the database instead of at the boundary.
_BIGINT_MAX = 2**63 - 1

# Identifiers --------------------------------------------------------------------------------------------

# A treatment plan id; plans use UUIDs so ids can be minted offline and across organizations.
PlanId = UUID

# A serial id (specialist, specialty, session, form template, ...).
IntId = Annotated[int, Meta(ge=1, le=_BIGINT_MAX)]

# A keyed hash or other opaque token (hex or base64url); telemetry never sees a raw patient id.
HashedId = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]

# An id of some other resource, carried as text because its type depends on the resource.
ResourceId = HashedId

# Clinical scales ----------------------------------------------------------------------------------------

# Patient-reported pain on the 0-10 numeric rating scale.
PainLevel = Annotated[int, Meta(ge=0, le=10)]

# A percentage kept with decimals (66.7), as the spec's JSON shows.
Percentage = Annotated[float, Meta(ge=0, le=100)]
WholePercent = Annotated[int, Meta(ge=0, le=100)]
"""A percentage floored to a whole number, or a threshold set in whole percent."""

# A ratio in [0, 1]: landmark visibility, pose confidence, form score.
UnitFloat = Annotated[float, Meta(ge=0, le=1)]

# Telemetry consent: 0 nothing, 1 error reports, 2+ analytics, media and pose (pose also needs biometric).
ConsentLevel = Annotated[int, Meta(ge=0, le=3)]

# Time ---------------------------------------------------------------------------------------------------

# An instant; a naive datetime is ambiguous across patient time zones, so an offset is required.
Timestamp = Annotated[datetime, Meta(tz=True)]

# Text ---------------------------------------------------------------------------------------------------

# Text never holds a NUL character: PostgreSQL text cannot store it, and no person types one.
NO_NUL_PATTERN = r"^[^\u0000]*$"

# A name or title; the pattern demands one visible character so "   " is not a name.
ShortText = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]

# A description or note.
LongText = Annotated[str, Meta(max_length=5000, pattern=NO_NUL_PATTERN)]

# A lowercase slug (condition tags, categories); slugs are matched exactly, so case is fixed here.
SLUG_PATTERN = re.compile(r"^[a-z0-9_]{1,64}$")
Slug = Annotated[str, Meta(pattern=SLUG_PATTERN.pattern)]

# A condition or body-area tag such as ``post_acl`` or ``shoulder_pain``.
ConditionTag = Slug
CONDITION_TAG_PATTERN = SLUG_PATTERN

# An absolute http(s) URL, bounded to what browsers and CDNs accept.
Url = Annotated[str, Meta(max_length=2048, pattern=r"^https?://[^\u0000]*$")]

# Pagination ---------------------------------------------------------------------------------------------

# A 1-based page number; capped so the OFFSET computed from it stays small enough to be a real query.
Page = Annotated[int, Meta(ge=1, le=1_000_000)]

# Items per page.
Limit = Annotated[int, Meta(ge=1, le=100)]

# Prescriptions -----------------------------------------------------------------------------------------

# Sets, reps and timings a plan prescribes: one exercise never needs more than an hour of anything.
SetCount = Annotated[int, Meta(ge=1, le=50)]
RepCount = Annotated[int, Meta(ge=1, le=1000)]
PrescribedSeconds = Annotated[int, Meta(ge=0, le=3600)]
SessionMinutes = Annotated[int, Meta(ge=1, le=600)]

# Pose tracking ------------------------------------------------------------------------------------------

# MediaPipe Pose reports this many landmarks per detected body.
LANDMARK_COUNT = 33

# One coordinate per landmark. Normalized coordinates stray a little outside [0, 1] when a joint leaves
# the frame, so the element bound only stops values that would overflow a Float32 column.
LandmarkCoords = Annotated[list[Annotated[float, Meta(ge=-10, le=10)]], Meta(max_length=LANDMARK_COUNT)]

# Per-landmark visibility or presence scores, one per landmark: probabilities (0-1) or the model's raw
# logits, as the batch's ``visibility_kind`` says. The bound only stops values that overflow a Float32;
# the service clamps stray probabilities and converts logits (docs/telemetry.md), so one odd score never
# refuses a batch.
LandmarkScores = Annotated[list[Annotated[float, Meta(ge=-1e6, le=1e6)]], Meta(max_length=LANDMARK_COUNT)]

# World landmark coordinates, in metres from the centre of the hips, one per landmark.
WorldCoords = Annotated[list[Annotated[float, Meta(ge=-100, le=100)]], Meta(max_length=LANDMARK_COUNT)]

# A form issue code the device reports, snake_case such as ``knee_valgus`` or ``trunk_lean``.
FormIssueCode = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,47}$")]

# Camera frame size such as ``640x480``.
CameraResolution = Annotated[str, Meta(pattern=r"^\d{2,5}x\d{2,5}$")]

# Media playback -----------------------------------------------------------------------------------------
# The maxima are sanity bounds (a day, a gigabit), not plausibility checks: they keep garbage out of the
# columnar store without rejecting an unusual but real session.

# A media position or duration in seconds.
MediaSeconds = Annotated[float, Meta(ge=0, le=86_400)]

# A duration in whole milliseconds (network timings, stall lengths).
Milliseconds = Annotated[int, Meta(ge=0, le=86_400_000)]

# A non-negative event or frame counter.
Count = Annotated[int, Meta(ge=0, le=100_000_000)]

# A stream bitrate in bits per second.
BitsPerSecond = Annotated[int, Meta(ge=0, le=1_000_000_000)]

# A rendition label such as ``720p``.
VideoResolution = Annotated[str, Meta(pattern=r"^\d{3,4}p$")]

# Counts -------------------------------------------------------------------------------------------------

# A count or total that needs no upper bound (rows, matches over all pages, a plan week from 0).
NonNegativeInt = Annotated[int, Meta(ge=0)]

# A positive whole number that needs no upper bound (a 1-based number, a page size as asked).
PositiveInt = Annotated[int, Meta(ge=1)]

# Fields described alike in several Structs --------------------------------------------------------------
# The type and its description together, so every Struct that shows the field says the same.

EnrollmentId = Annotated[IntId, Meta(description="The enrollment's id.")]
PatientId = Annotated[IntId, Meta(description="The patient's id.")]
ExerciseId = Annotated[UUID, Meta(description="The exercise's id (UUID).")]
ExerciseName = Annotated[str, Meta(description="The exercise's name.")]
SessionName = Annotated[ShortText, Meta(description="The session's name.")]
PlanWeek = Annotated[PositiveInt, Meta(description="1-based plan week.")]
ExerciseVideoUrl = Annotated[
    Url | None,
    Meta(description="Absolute http(s) URL of the exercise's demonstration video; null when none."),
]
VideoThumbnailUrl = Annotated[
    Url | None,
    Meta(description="Absolute http(s) URL of the video's thumbnail image; null when none."),
]

# An enrollment's progress.
EnrollmentStart = Annotated[
    date,
    Meta(description="First day of the enrollment, a calendar date in the patient's time zone."),
]
SessionsCompleted = Annotated[NonNegativeInt, Meta(description="Sessions completed so far.")]
SessionsSkipped = Annotated[NonNegativeInt, Meta(description="Sessions skipped so far.")]
SessionsTotal = Annotated[PositiveInt, Meta(description="Sessions the enrollment prescribes in all.")]
SessionsRemaining = Annotated[
    NonNegativeInt,
    Meta(description="max(sessions_total - sessions_completed - sessions_skipped, 0)."),
]
CurrentWeek = Annotated[
    NonNegativeInt,
    Meta(
        description=(
            "1-based week of the enrollment today in the patient's time zone (week 1 = start_date "
            "and the six days after); 0 before start_date, capped at total_weeks."
        )
    ),
]
TotalWeeks = Annotated[PositiveInt, Meta(description="The frozen version's duration in weeks.")]


# How a started session ended.
CompletedAt = Annotated[
    Timestamp | None,
    Meta(description="When it was completed (UTC, RFC 3339); null unless completed."),
]
SkippedAt = Annotated[
    Timestamp | None,
    Meta(description="When it was skipped (UTC, RFC 3339); null unless skipped."),
]
SessionSeconds = Annotated[
    NonNegativeInt | None,
    Meta(description="Seconds from started_at to completed_at; null unless completed."),
]

# An exercise's video, over the logs of completed sessions.
VideoWatchPercentage = Annotated[
    Percentage | None,
    Meta(description="Mean video watch percentage over performed logs, 0-100 with one decimal; null without one."),
]

MeasuredWatchPercentage = Annotated[
    Percentage | None,
    Meta(
        description=(
            "Mean share of the video the player measured as watched (telemetry, not what the app reported), over "
            "performed logs with evidence, 0-100 with one decimal; null without one."
        )
    ),
]

MeanFormScore = Annotated[
    Percentage | None,
    Meta(
        description=(
            "Mean form score the pose tracker measured (telemetry, 0-100 like pose accuracy), over performed logs "
            "with evidence, with one decimal; null without one."
        )
    ),
]

PainBefore = Annotated[
    PainLevel | None,
    Meta(description="Pain before the session, 0-10 numeric rating scale; null when not reported."),
]

PainAfter = Annotated[
    PainLevel | None,
    Meta(description="Pain after the session, 0-10; null when not reported."),
]

CompletionPercentage = Annotated[
    Percentage,
    Meta(description="100 * sessions_completed / sessions_total, 0-100, rounded to two decimals (41.67)."),
]

"""What telemetry measured for exercise sessions (``POST /v1/session-evidence``, core-api's service token).

core-api gives every exercise log a telemetry ``session_id`` when the session starts; the patient's app
sends that exercise's media events and pose frames under it. After a completion, core-api asks telemetry
for the measured figures of a batch of those sessions in one call and stores them beside what the app
reported (docs/adherence.md, "Verified adherence"). A session is named by the patient's keyed hash and its
id together: any token of an organization can send rows under any ``session_id``, so only the rows the
patient's own tokens sent count.
"""

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from contracts.types import HashedId, NonNegativeInt, Percentage

MAX_EVIDENCE_SESSIONS = 500
"""Sessions one call may name: one ClickHouse query answers them all."""


class EvidenceSessionKey(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One telemetry session: the patient's keyed hash and the session id of one exercise log."""

    actor_hash: Annotated[HashedId, Meta(description="The patient's keyed hash (the `sub` of their telemetry tokens).")]
    session_id: Annotated[
        UUID, Meta(description="The telemetry session id core-api gave the exercise log when the session started.")
    ]


class EvidenceQuery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /v1/session-evidence``."""

    sessions: Annotated[
        list[EvidenceSessionKey],
        Meta(
            min_length=1,
            max_length=MAX_EVIDENCE_SESSIONS,
            description=f"The sessions to report on, 1-{MAX_EVIDENCE_SESSIONS}, each at most once.",
        ),
    ]


EvidenceQueryBody = Annotated[
    EvidenceQuery,
    Meta(
        examples=[
            {
                "sessions": [
                    {"actor_hash": "hashed-patient-id", "session_id": "7d444840-9dc0-11d1-b245-5ffdce74fad2"},
                    {"actor_hash": "hashed-patient-id", "session_id": "2f1b6c1e-4a52-4d0c-9a7e-0c1f3b8d5e21"},
                ]
            }
        ]
    ),
]


class MediaEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """What the player measured in one session."""

    events: Annotated[NonNegativeInt, Meta(description="Media events received for the session.")]
    watched_seconds: Annotated[
        float, Meta(ge=0, description="Seconds of the video watched: the largest `watched_duration_seconds` sent.")
    ]
    watch_percentage: Annotated[
        Percentage, Meta(description="Share of the video watched, 0-100: the largest `completion_percent` sent.")
    ]
    milestones_reached: Annotated[
        list[int],
        Meta(description="The milestones (25, 50, 75, 95) reached: one sent, or a later one, counts."),
    ]
    completed: Annotated[bool, Meta(description="Whether a `session_end` said the video was watched to the end.")]
    buffering_count: Annotated[
        NonNegativeInt,
        Meta(
            description="Times playback stalled to buffer: the player's running count (`buffering_count` of "
            "heartbeats and `session_end`) or the `buffering_start` events, whichever is larger."
        ),
    ]
    buffering_seconds: Annotated[
        float,
        Meta(
            ge=0,
            description="Seconds spent buffering: the player's running total (`buffering_duration_ms`) or the "
            "sum of the `buffering_end` durations, whichever is larger.",
        ),
    ]


class PoseEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """What the pose tracker measured in one session."""

    frames: Annotated[NonNegativeInt, Meta(description="Pose frames received for the session.")]
    reps_counted: Annotated[
        NonNegativeInt, Meta(description="Repetitions the device counted: the largest `rep_count` sent.")
    ]
    mean_form_score: Annotated[
        Percentage | None,
        Meta(description="Mean form score of the frames with a body in view, 0-100; null when none had one."),
    ]
    rom_min_degrees: Annotated[
        float | None, Meta(description="Smallest range of motion measured, in degrees; null when none was.")
    ]
    rom_max_degrees: Annotated[
        float | None, Meta(description="Largest range of motion measured, in degrees; null when none was.")
    ]
    low_visibility_frames: Annotated[
        NonNegativeInt,
        Meta(description="Frames with no body in view (no form score) or a mean landmark visibility under 0.5."),
    ]


class SessionEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """The measured figures of one requested session; null parts mean nothing of that kind arrived."""

    actor_hash: Annotated[HashedId, Meta(description="The patient's keyed hash, as requested.")]
    session_id: Annotated[UUID, Meta(description="The telemetry session id, as requested.")]
    media: Annotated[MediaEvidence | None, Meta(description="Null when no media event of the session arrived.")]
    pose: Annotated[PoseEvidence | None, Meta(description="Null when no pose frame of the session arrived.")]


class SessionEvidenceList(msgspec.Struct, frozen=True, kw_only=True):
    """The answer of ``POST /v1/session-evidence``: one entry per requested session, in the request's order."""

    sessions: Annotated[
        list[SessionEvidence], Meta(description="One entry per requested session, in the request's order.")
    ]

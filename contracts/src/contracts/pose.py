"""Pose frames (``POST /v1/pose/frames``): one frame of MediaPipe Pose landmarks, the batch body and its
decoder."""

from collections.abc import Sized
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from contracts.decoding import BodyDecoder
from contracts.types import (
    LANDMARK_COUNT,
    CameraResolution,
    Count,
    FormIssueCode,
    HashedId,
    LandmarkCoords,
    LandmarkScores,
    Milliseconds,
    UnitFloat,
    WorldCoords,
)

VisibilityKind = Literal["probability", "logit"]
ExercisePhase = Literal["concentric", "eccentric", "isometric", "rest", "transition", "unknown"]


# Pose frames --------------------------------------------------------------------------------------------

# 300 frames is 10 s at 30 fps: five times the 1-2 s the client buffers, so a late flush still fits.
POSE_BATCH_MAX_FRAMES = 300


def check_landmark_arrays(
    coordinates: tuple[Sized, Sized, Sized], scores: tuple[Sized, Sized], world: tuple[Sized, Sized, Sized]
) -> None:
    """Raise ValueError unless a frame's landmark arrays agree: x, y and z as long as each other, visibility
    and presence empty or as long as x, world x, y and z as long as each other."""
    count = len(coordinates[0])
    if any(len(each) != count for each in coordinates):
        raise ValueError("landmark arrays must have equal lengths")
    if any(len(each) not in (0, count) for each in scores):
        raise ValueError("landmark_visibility and landmark_presence must be empty or as long as landmark_x")
    if len({len(each) for each in world}) != 1:
        raise ValueError("world landmark arrays must have equal lengths")


class PoseFrame(msgspec.Struct, frozen=True, kw_only=True):
    """One MediaPipe frame: landmark coordinates as parallel arrays plus the on-device scoring."""

    frame_number: Annotated[
        Count,
        Meta(description="Frame index within the pose session, counted by the device from 0."),
    ]
    elapsed_ms: Annotated[Milliseconds, Meta(description="Time since the pose session started, in milliseconds.")]
    landmark_x: Annotated[
        LandmarkCoords,
        Meta(
            description=(
                "Horizontal landmark coordinates, normalized to the image width (0-1; slightly "
                "outside when a joint leaves the frame), one per BlazePose landmark in model "
                "order; same length as the other landmark arrays, 0-33."
            )
        ),
    ]
    landmark_y: Annotated[
        LandmarkCoords,
        Meta(
            description=(
                "Vertical landmark coordinates, normalized to the image height (0-1; slightly "
                "outside when a joint leaves the frame), one per landmark; same length as "
                "`landmark_x`."
            )
        ),
    ]
    landmark_z: Annotated[
        LandmarkCoords,
        Meta(
            description=(
                "Landmark depth relative to the hips, in roughly the scale of `landmark_x` "
                "(smaller is nearer the camera), one per landmark; same length as `landmark_x`."
            )
        ),
    ]
    landmark_visibility: Annotated[
        LandmarkScores,
        Meta(
            description=(
                "Likelihood that each landmark is visible in the image, one per landmark: probabilities "
                "(0-1; values outside are clamped) or raw logits, as the batch's `visibility_kind` says; "
                "same length as `landmark_x`, or empty when the model gives none."
            )
        ),
    ] = []
    landmark_presence: Annotated[
        LandmarkScores,
        Meta(
            description=(
                "Likelihood that each landmark is present in the frame (MediaPipe's `presence`), read like "
                "`landmark_visibility`; same length as `landmark_x`, or empty when not sent."
            )
        ),
    ] = []
    world_landmark_x: Annotated[
        WorldCoords,
        Meta(
            description=(
                "MediaPipe's world landmarks: x in metres from the centre of the hips, one per BlazePose "
                "landmark in model order from landmark 0; same length as `world_landmark_y` and "
                "`world_landmark_z`, or empty when not sent. The server computes joint angles from them."
            )
        ),
    ] = []
    world_landmark_y: Annotated[
        WorldCoords,
        Meta(description="World landmark y in metres (down is positive); same length as `world_landmark_x`."),
    ] = []
    world_landmark_z: Annotated[
        WorldCoords,
        Meta(description="World landmark z in metres (depth); same length as `world_landmark_x`."),
    ] = []
    pose_confidence: Annotated[
        UnitFloat | None,
        Meta(
            description=(
                "Confidence that a body was detected in the frame, 0-1; null or absent when the model "
                "gives none (MediaPipe Pose does not)."
            )
        ),
    ] = None
    form_issues: Annotated[
        Annotated[list[FormIssueCode], Meta(max_length=16)],
        Meta(
            description=(
                "Form issues the device detected in the frame, up to 16 snake_case codes such as "
                "`knee_valgus`, `trunk_lean`, `hip_hike`, `shoulder_shrug` (docs/telemetry.md lists the "
                "suggested codes; other codes of the same pattern are stored as sent)."
            )
        ),
    ] = []
    landmarks_detected: Annotated[
        Annotated[int, Meta(ge=0, le=LANDMARK_COUNT)],
        Meta(
            description=(
                "MediaPipe's count of the landmarks it found in the frame, 0-33 (see "
                "docs/telemetry.md for how it relates to the arrays' length)."
            )
        ),
    ]
    rep_count: Annotated[
        Annotated[int, Meta(ge=0, le=10_000)],
        Meta(description="Repetitions the device has counted so far in the pose session."),
    ]
    # Null when no body is in view: a score of 0 would read as terrible form rather than no data.
    form_score: Annotated[
        UnitFloat | None,
        Meta(
            description="The device's form score for the frame, 0-1 (1 = perfect form); null when no body is in view."
        ),
    ] = None
    rom_degrees: Annotated[
        Annotated[float, Meta(ge=0, le=360)] | None,
        Meta(description="Range of motion of the tracked joint, in degrees (0-360); null when not measured."),
    ] = None
    active_exercise_phase: Annotated[
        ExercisePhase,
        Meta(
            description=(
                "Movement phase the device detects: `concentric`, `eccentric`, `isometric`, "
                "`rest`, `transition` or `unknown`."
            )
        ),
    ] = "unknown"
    camera_resolution: Annotated[
        CameraResolution,
        Meta(description="Camera frame size in pixels, width x height, such as `640x480`."),
    ]
    processing_time_ms: Annotated[
        Annotated[float, Meta(ge=0, le=60_000)],
        Meta(description="Time the device took to process the frame, in milliseconds."),
    ]

    def __post_init__(self) -> None:
        # Meta bounds each array alone; the arrays are columns of one landmark table, so they must agree.
        # A ValueError here reaches the caller as a msgspec.ValidationError naming the frame's path.
        # landmarks_detected is MediaPipe's own count of the model's 33 it found, not the arrays' length: a
        # client may send fewer landmarks than it detected (the spec's sample sends 3 of 33 detected).
        check_landmark_arrays(
            (self.landmark_x, self.landmark_y, self.landmark_z),
            (self.landmark_visibility, self.landmark_presence),
            (self.world_landmark_x, self.world_landmark_y, self.world_landmark_z),
        )


class PoseFrameBatch(msgspec.Struct, frozen=True):
    """`POST /v1/pose/frames`: MediaPipe frames of one pose-tracking session, buffered by the app for 1-2 seconds."""

    session_id: Annotated[
        UUID,
        Meta(description="The pose-tracking session, made by the app; every batch of the session carries it."),
    ]
    media_id: Annotated[HashedId, Meta(description="Hashed id of the exercise video the patient is following.")]
    frames: Annotated[
        Annotated[list[PoseFrame], Meta(min_length=1, max_length=POSE_BATCH_MAX_FRAMES)],
        Meta(description="1-300 frames, in capture order (the app flushes every 1-2 seconds)."),
    ]
    visibility_kind: Annotated[
        VisibilityKind,
        Meta(
            description=(
                "How the frames' `landmark_visibility` and `landmark_presence` are given: `probability` "
                "(0-1, what MediaPipe's Tasks API returns; values outside are clamped to 0-1) or `logit` "
                "(raw model outputs, as some MediaPipe releases give them; stored as sigmoid(value))."
            )
        ),
    ] = "probability"


# The request body as documented, with the spec's sample (service_common.openapi puts it on the schema).
PoseFrameBatchBody = Annotated[
    PoseFrameBatch,
    Meta(
        examples=[
            {
                "session_id": "550e8400-e29b-41d4-a716-446655440000",
                "media_id": "hashed-exercise-id",
                "frames": [
                    {
                        "frame_number": 450,
                        "elapsed_ms": 15000,
                        "landmark_x": [0.52, 0.51, 0.50],
                        "landmark_y": [0.32, 0.35, 0.38],
                        "landmark_z": [-0.1, -0.09, -0.08],
                        "landmark_visibility": [0.99, 0.98, 0.95],
                        "pose_confidence": 0.96,
                        "landmarks_detected": 33,
                        "rep_count": 5,
                        "form_score": 0.85,
                        "rom_degrees": 42.5,
                        "active_exercise_phase": "concentric",
                        "camera_resolution": "640x480",
                        "processing_time_ms": 12,
                    }
                ],
            }
        ]
    ),
]


pose_batch_decoder: BodyDecoder[PoseFrameBatch] = BodyDecoder(PoseFrameBatch)

"""pydantic v2 equivalents of the contracts' pose and media ingest bodies, for the baselines only.

Every bound, length, pattern, literal and cross-field rule of ``contracts.telemetry`` is repeated here, so a
body valid for one is valid for the other and the benchmarks compare like with like. Integers and booleans
are strict (msgspec refuses ``"3"`` for an int too); unknown fields are ignored, as the contracts do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from contracts.telemetry import check_timestamp
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

LANDMARK_COUNT = 33

HashedId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
Count = Annotated[StrictInt, Field(ge=0, le=100_000_000)]
Milliseconds = Annotated[StrictInt, Field(ge=0, le=86_400_000)]
BitsPerSecond = Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]
UnitFloat = Annotated[float, Field(ge=0, le=1)]
Percentage = Annotated[float, Field(ge=0, le=100)]
MediaSeconds = Annotated[float, Field(ge=0, le=86_400)]
Coordinate = Annotated[float, Field(ge=-10, le=10)]
Score = Annotated[float, Field(ge=-1e6, le=1e6)]
WorldCoordinate = Annotated[float, Field(ge=-100, le=100)]
FormIssueCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
CameraResolution = Annotated[str, Field(pattern=r"^\d{2,5}x\d{2,5}$")]
VideoResolution = Annotated[str, Field(pattern=r"^\d{3,4}p$")]
Megabits = Annotated[float, Field(ge=0, le=100_000)]
CdnName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
MediaErrorCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
ConnectionType = Literal["wifi", "cellular", "ethernet", "other", "unknown"]
Platform = Literal["web", "ios", "android", "desktop", "other"]
StallCause = Literal["playback", "seek"]


def _in_stored_range(moment: datetime) -> datetime:
    check_timestamp(moment)
    return moment


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_stored_range)]
ExercisePhase = Literal["concentric", "eccentric", "isometric", "rest", "transition", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PoseFrameModel(_Model):
    frame_number: Count
    elapsed_ms: Milliseconds
    landmark_x: Annotated[list[Coordinate], Field(max_length=LANDMARK_COUNT)]
    landmark_y: Annotated[list[Coordinate], Field(max_length=LANDMARK_COUNT)]
    landmark_z: Annotated[list[Coordinate], Field(max_length=LANDMARK_COUNT)]
    landmark_visibility: Annotated[list[Score], Field(max_length=LANDMARK_COUNT)] = []
    landmark_presence: Annotated[list[Score], Field(max_length=LANDMARK_COUNT)] = []
    world_landmark_x: Annotated[list[WorldCoordinate], Field(max_length=LANDMARK_COUNT)] = []
    world_landmark_y: Annotated[list[WorldCoordinate], Field(max_length=LANDMARK_COUNT)] = []
    world_landmark_z: Annotated[list[WorldCoordinate], Field(max_length=LANDMARK_COUNT)] = []
    pose_confidence: UnitFloat | None = None
    form_issues: Annotated[list[FormIssueCode], Field(max_length=16)] = []
    landmarks_detected: Annotated[StrictInt, Field(ge=0, le=LANDMARK_COUNT)]
    rep_count: Annotated[StrictInt, Field(ge=0, le=10_000)]
    form_score: UnitFloat | None = None
    rom_degrees: Annotated[float, Field(ge=0, le=360)] | None = None
    active_exercise_phase: ExercisePhase = "unknown"
    camera_resolution: CameraResolution
    processing_time_ms: Annotated[float, Field(ge=0, le=60_000)]

    @model_validator(mode="after")
    def _landmark_arrays_agree(self) -> PoseFrameModel:
        count = len(self.landmark_x)
        if not (count == len(self.landmark_y) == len(self.landmark_z)):
            raise ValueError("landmark arrays must have equal lengths")
        if len(self.landmark_visibility) not in (0, count) or len(self.landmark_presence) not in (0, count):
            raise ValueError("landmark_visibility and landmark_presence must be empty or as long as landmark_x")
        if not (len(self.world_landmark_x) == len(self.world_landmark_y) == len(self.world_landmark_z)):
            raise ValueError("world landmark arrays must have equal lengths")
        return self


class PoseFrameBatchModel(_Model):
    session_id: UUID
    media_id: HashedId
    frames: Annotated[list[PoseFrameModel], Field(min_length=1, max_length=300)]
    visibility_kind: Literal["probability", "logit"] = "probability"


# Media events -------------------------------------------------------------------------------------------


class SessionStartData(_Model):
    total_duration_seconds: MediaSeconds
    cdn_response_time_ms: Milliseconds
    ttfb_ms: Milliseconds | None = None
    video_load_time_ms: Milliseconds | None = None
    cdn: CdnName | None = None
    connection_type: ConnectionType = "unknown"
    effective_bandwidth: Megabits | None = None
    rtt_ms: Milliseconds | None = None
    platform: Platform | None = None


class PlayIntentData(_Model):
    total_duration_seconds: MediaSeconds | None = None
    connection_type: ConnectionType = "unknown"
    effective_bandwidth: Megabits | None = None
    rtt_ms: Milliseconds | None = None
    cdn: CdnName | None = None
    platform: Platform | None = None


class ErrorData(_Model):
    code: MediaErrorCode
    fatal: StrictBool
    position_seconds: MediaSeconds | None = None


class HeartbeatData(_Model):
    position_seconds: MediaSeconds
    watched_duration_seconds: MediaSeconds
    completion_percent: Percentage
    buffering_count: Count
    buffering_duration_ms: Milliseconds
    current_bitrate: BitsPerSecond
    current_resolution: VideoResolution | None = None
    dropped_frames: Count | None = None
    total_frames: Count | None = None


class BufferingStartData(_Model):
    position_seconds: MediaSeconds
    cause: StallCause = "playback"


class BufferingEndData(_Model):
    position_seconds: MediaSeconds
    duration_ms: Milliseconds
    cause: StallCause = "playback"


class QualityChangeData(_Model):
    from_bitrate: BitsPerSecond
    to_bitrate: BitsPerSecond
    reason: Literal["abr", "user", "network"]
    from_resolution: VideoResolution | None = None
    to_resolution: VideoResolution | None = None


class MilestoneData(_Model):
    percent: Literal[25, 50, 75, 95]
    position_seconds: MediaSeconds


class SessionEndData(_Model):
    watched_duration_seconds: MediaSeconds
    completion_percent: Percentage
    buffering_count: Count
    buffering_duration_ms: Milliseconds
    completed: StrictBool
    exit_reason: Literal["ended", "user_exit", "navigated_away", "app_backgrounded", "error", "timeout"]


class _MediaEventModel(_Model):
    session_id: UUID
    media_id: HashedId | None = None
    media_type: Literal["video", "audio"] = "video"
    timestamp: Timestamp


class PlayIntentModel(_MediaEventModel):
    event: Literal["play_intent"]
    media_id: HashedId
    data: PlayIntentData = PlayIntentData()


class SessionStartModel(_MediaEventModel):
    event: Literal["session_start"]
    media_id: HashedId
    data: SessionStartData


class HeartbeatModel(_MediaEventModel):
    event: Literal["heartbeat"]
    data: HeartbeatData


class BufferingStartModel(_MediaEventModel):
    event: Literal["buffering_start"]
    data: BufferingStartData


class BufferingEndModel(_MediaEventModel):
    event: Literal["buffering_end"]
    data: BufferingEndData


class QualityChangeModel(_MediaEventModel):
    event: Literal["quality_change"]
    data: QualityChangeData


class MilestoneModel(_MediaEventModel):
    event: Literal["milestone"]
    data: MilestoneData


class SessionEndModel(_MediaEventModel):
    event: Literal["session_end"]
    data: SessionEndData


class ErrorModel(_MediaEventModel):
    event: Literal["error"]
    data: ErrorData


MediaEventModel = Annotated[
    PlayIntentModel
    | SessionStartModel
    | HeartbeatModel
    | BufferingStartModel
    | BufferingEndModel
    | QualityChangeModel
    | MilestoneModel
    | SessionEndModel
    | ErrorModel,
    Field(discriminator="event"),
]
MediaEventBatchModel = MediaEventModel | Annotated[list[MediaEventModel], Field(min_length=1, max_length=500)]


class IngestAckModel(_Model):
    accepted: Annotated[int, Field(ge=0)]
    batch_id: UUID
    duplicate: bool = False

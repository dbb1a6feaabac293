"""pydantic v2 equivalents of the contracts' pose and media ingest bodies, for the baselines only.

Every bound, length and pattern comes from the contracts' own field types (:func:`bounds`) and the
cross-field rules are the contracts' own functions; the literals of ``contracts.pose`` and
``contracts.media_events`` are repeated here. So a body valid for one is valid for the other and the
benchmarks compare like with like. Integers and booleans are strict (msgspec refuses ``"3"`` for an int
too); unknown fields are ignored, as the contracts do.
"""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from contracts.media_events import check_timestamp
from contracts.pose import check_landmark_arrays
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator
from pydantic.fields import FieldInfo

from contracts import media_event_data, types

_CONSTRAINTS = ("ge", "le", "gt", "lt", "min_length", "max_length", "pattern")


def bounds(alias: Any) -> FieldInfo:
    """A pydantic ``Field`` with the bounds, lengths and pattern of a contracts ``Annotated[T, Meta(...)]``
    alias: the constraints are the contracts' own, not a copy of them."""
    (meta,) = [each for each in typing.get_args(alias)[1:] if isinstance(each, msgspec.Meta)]
    found = {name: getattr(meta, name) for name in _CONSTRAINTS if getattr(meta, name) is not None}
    return Field(**found)  # type: ignore[no-any-return]


def item(alias: Any) -> Any:
    """The alias of the items of a contracts list alias ``Annotated[list[<item>], Meta(...)]``."""
    return typing.get_args(typing.get_args(alias)[0])[0]


LANDMARK_COUNT = types.LANDMARK_COUNT

HashedId = Annotated[str, bounds(types.HashedId)]
Count = Annotated[StrictInt, bounds(types.Count)]
Milliseconds = Annotated[StrictInt, bounds(types.Milliseconds)]
BitsPerSecond = Annotated[StrictInt, bounds(types.BitsPerSecond)]
UnitFloat = Annotated[float, bounds(types.UnitFloat)]
Percentage = Annotated[float, bounds(types.Percentage)]
MediaSeconds = Annotated[float, bounds(types.MediaSeconds)]
Coordinate = Annotated[float, bounds(item(types.LandmarkCoords))]
Score = Annotated[float, bounds(item(types.LandmarkScores))]
WorldCoordinate = Annotated[float, bounds(item(types.WorldCoords))]
FormIssueCode = Annotated[str, bounds(types.FormIssueCode)]
CameraResolution = Annotated[str, bounds(types.CameraResolution)]
VideoResolution = Annotated[str, bounds(types.VideoResolution)]
Megabits = Annotated[float, Field(ge=0, le=100_000)]
CdnName = Annotated[str, bounds(media_event_data.CdnName)]
MediaErrorCode = Annotated[str, bounds(media_event_data.MediaErrorCode)]
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
        check_landmark_arrays(
            (self.landmark_x, self.landmark_y, self.landmark_z),
            (self.landmark_visibility, self.landmark_presence),
            (self.world_landmark_x, self.world_landmark_y, self.world_landmark_z),
        )
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

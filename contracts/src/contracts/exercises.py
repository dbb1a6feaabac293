"""The exercise library (``/v1/exercises``): the exercises treatment plans prescribe, each the
organization's own or global (``global: true``: the platform's, read by every organization, created and
changed only by platform administrators).
"""

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.paging import PageInfo
from contracts.plans import Difficulty
from contracts.types import (
    NO_NUL_PATTERN,
    LongText,
    ShortText,
    Timestamp,
    Url,
)

# Step-by-step instructions may be longer than a description.


Instructions = Annotated[str, Meta(max_length=10_000, pattern=NO_NUL_PATTERN)]

# How long one exercise takes, at most a day.
ExerciseSeconds = Annotated[int, Meta(ge=1, le=86_400)]


LibraryExerciseName = Annotated[ShortText, Meta(description="The exercise's name (`Quad Set`), 1-200 characters.")]


ExerciseDescription = Annotated[
    LongText,
    Meta(description="What the exercise is for, as the patient reads it; up to 5000 characters."),
]


ExerciseInstructions = Annotated[
    Instructions,
    Meta(description="How to do the exercise, as text the patient reads; up to 10 000 characters."),
]


LibraryVideoUrl = Annotated[Url | None, Meta(description="Absolute http(s) URL of the exercise video; null for none.")]


LibraryThumbnailUrl = Annotated[
    Url | None,
    Meta(description="Absolute http(s) URL of the video's thumbnail image; null for none."),
]


ExerciseDifficulty = Annotated[Difficulty, Meta(description="`beginner`, `intermediate` or `advanced`.")]


ExerciseDuration = Annotated[
    ExerciseSeconds | None,
    Meta(description="How long the exercise takes, in seconds (1-86 400); null when not estimated."),
]


ExercisePublished = Annotated[
    bool,
    Meta(description="Whether plans may prescribe it; a new exercise is a draft (`false`) unless said otherwise."),
]


# Exercises --------------------------------------------------------------------------------------------------


class ExerciseCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/exercises``. A new exercise is a draft (``published: false``) unless said otherwise;
    plans can only prescribe published ones."""

    name: LibraryExerciseName
    description: ExerciseDescription = ""
    instructions: ExerciseInstructions = ""
    video_url: LibraryVideoUrl = None
    video_thumbnail_url: LibraryThumbnailUrl = None
    difficulty: ExerciseDifficulty = Difficulty.BEGINNER
    estimated_duration_seconds: ExerciseDuration = None
    published: ExercisePublished = False
    is_global: Annotated[
        bool,
        Meta(
            description=(
                "`true`: a platform exercise every organization reads (platform administrators "
                "only); `false`: the organization's own."
            )
        ),
    ] = msgspec.field(default=False, name="global")


class ExerciseUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /v1/exercises/{id}``, a partial update. Whether an exercise is global never changes."""

    name: Annotated[
        ShortText | UnsetType,
        Meta(description="The exercise's name (`Quad Set`), 1-200 characters. Absent: unchanged."),
    ] = UNSET
    description: Annotated[
        LongText | UnsetType,
        Meta(
            description="What the exercise is for, as the patient reads it; up to 5000 characters. Absent: unchanged."
        ),
    ] = UNSET
    instructions: Annotated[
        Instructions | UnsetType,
        Meta(
            description=(
                "How to do the exercise, as text the patient reads; up to 10 000 characters. Absent: unchanged."
            )
        ),
    ] = UNSET
    video_url: Annotated[
        Url | UnsetType | None,
        Meta(
            description=(
                "Absolute http(s) URL of the exercise video; null for none. Absent: unchanged; `null` clears it."
            )
        ),
    ] = UNSET
    video_thumbnail_url: Annotated[
        Url | UnsetType | None,
        Meta(
            description=(
                "Absolute http(s) URL of the video's thumbnail image; null for none. Absent: "
                "unchanged; `null` clears it."
            )
        ),
    ] = UNSET
    difficulty: Annotated[
        Difficulty | UnsetType,
        Meta(description="`beginner`, `intermediate` or `advanced`. Absent: unchanged."),
    ] = UNSET
    estimated_duration_seconds: Annotated[
        ExerciseSeconds | UnsetType | None,
        Meta(
            description=(
                "How long the exercise takes, in seconds (1-86 400); null when not estimated. "
                "Absent: unchanged; `null` clears it."
            )
        ),
    ] = UNSET
    published: Annotated[
        bool | UnsetType,
        Meta(
            description=(
                "Whether plans may prescribe it; a new exercise is a draft (`false`) unless said "
                "otherwise. Absent: unchanged."
            )
        ),
    ] = UNSET


class Exercise(msgspec.Struct, frozen=True, kw_only=True):
    """An exercise of the library, the organization's own or global."""

    id: Annotated[UUID, Meta(description="The exercise's id.")]
    name: LibraryExerciseName
    description: ExerciseDescription
    instructions: ExerciseInstructions
    video_url: LibraryVideoUrl
    video_thumbnail_url: LibraryThumbnailUrl
    difficulty: ExerciseDifficulty
    estimated_duration_seconds: ExerciseDuration
    published: ExercisePublished
    is_global: Annotated[
        bool,
        Meta(description="`true`: a platform exercise every organization reads; `false`: the organization's own."),
    ] = msgspec.field(name="global")
    created_at: Annotated[Timestamp, Meta(description="When the exercise was created.")]


class ExerciseList(PageInfo, frozen=True, kw_only=True):
    """One page of exercises."""

    exercises: Annotated[list[Exercise], Meta(description="Exercises on this page.")]


ExerciseCreateBody = Annotated[
    ExerciseCreate,
    Meta(
        examples=[
            {
                "name": "Quad Set",
                "description": "Isometric quadriceps activation for early knee rehabilitation.",
                "instructions": "Sit with your leg straight. Tighten the thigh muscle and hold for 5 seconds. Relax.",
                "video_url": "https://cdn.example.com/videos/quad-set.mp4",
                "video_thumbnail_url": "https://cdn.example.com/thumbs/quad-set.jpg",
                "difficulty": "beginner",
                "estimated_duration_seconds": 120,
                "published": True,
            }
        ]
    ),
]
ExerciseUpdateBody = Annotated[ExerciseUpdate, Meta(examples=[{"estimated_duration_seconds": 150, "published": True}])]

"""Small references to other resources (a specialist, a specialty, a form template, a service plan, an
exercise) that plans and the flows built on them embed in their responses.
"""

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from contracts.plans import Difficulty
from contracts.types import (
    ExerciseVideoUrl,
    IntId,
    ShortText,
    Url,
)

SpecialistId = Annotated[IntId, Meta(description="The specialist's id.")]


# Small references embedded in responses -----------------------------------------------------------------


class SpecialistRef(msgspec.Struct, frozen=True):
    """A specialist, as a plan names it."""

    id: SpecialistId
    name: Annotated[ShortText, Meta(description="The specialist's display name.")]


SpecialtyId = Annotated[IntId, Meta(description="The specialty's id.")]


class SpecialtyRef(msgspec.Struct, frozen=True):
    """A medical specialty (reference data), as a plan names it."""

    id: SpecialtyId
    name: Annotated[ShortText, Meta(description="The specialty's name.")]


class FormTemplateRef(msgspec.Struct, frozen=True):
    """A form template, as a plan names it."""

    id: Annotated[IntId, Meta(description="The form template's id.")]
    title: Annotated[ShortText, Meta(description="The form template's title.")]


ServicePlanId = Annotated[IntId, Meta(description="The service plan's id.")]


class ServicePlanRef(msgspec.Struct, frozen=True):
    """A service plan (billing package), as a plan names it."""

    # The spec only ever shows ``"service_plan": null``; an id and name mirror the other refs.
    id: ServicePlanId
    name: Annotated[ShortText, Meta(description="The service plan's name.")]


class ExerciseRef(msgspec.Struct, frozen=True):
    """An exercise of the library, as a plan session prescribes it."""

    id: Annotated[UUID, Meta(description="The exercise's id (UUID) in the exercise library.")]
    name: Annotated[ShortText, Meta(description="The exercise's name.")]
    video_thumbnail_url: Annotated[
        Url | None,
        Meta(description="Absolute http(s) URL of the exercise video's thumbnail image; null when none."),
    ]
    difficulty: Annotated[
        Difficulty,
        Meta(description="The exercise's difficulty: `beginner`, `intermediate` or `advanced`."),
    ]
    # What a patient needs to do the exercise, frozen with each published version. Defaults only for a
    # reader of a document written without them (the spec's plan sample); core-api always sends them.
    video_url: ExerciseVideoUrl = None
    instructions: Annotated[
        list[str],
        Meta(
            description=(
                "The exercise's instructions as steps, in order: one per line of its text, list markers removed."
            )
        ),
    ] = msgspec.field(default_factory=list)


PlanSpecialty = Annotated[SpecialtyRef | None, Meta(description="The plan's specialty; null when none.")]

PlanSpecialist = Annotated[SpecialistRef | None, Meta(description="The prescribing specialist; null when none.")]

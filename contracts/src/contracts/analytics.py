"""Product analytics events (``POST /v1/analytics/track``): the body and its decoder."""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.decoding import BodyDecoder
from contracts.media_events import check_timestamp
from contracts.types import (
    ResourceId,
    Slug,
    Timestamp,
)

# Analytics events ---------------------------------------------------------------------------------------

# ``area.action`` names such as ``treatment_plan.session_started``.
EventName = Annotated[str, Meta(max_length=128, pattern=r"^[a-z_]+(\.[a-z_]+)+$")]
PropertyValue = Annotated[str, Meta(max_length=1000)] | int | float | bool | None
# Properties are flat scalars, so each maps to one typed column or map entry without nested parsing.
Properties = Annotated[dict[Slug, PropertyValue], Meta(max_length=50)]


class AnalyticsEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A product analytics event. Properties must not carry names, emails or free-text notes."""

    event_name: Annotated[
        EventName,
        Meta(description="What happened, as `area.action` in lowercase (`treatment_plan.session_started`)."),
    ]
    event_category: Annotated[Slug, Meta(description="The product area, a lowercase slug (`treatment_plan`).")]
    timestamp: Annotated[
        Timestamp,
        Meta(description="When it happened on the device, with a UTC offset; from 2000-01-01 to before 2100-01-01."),
    ]
    resource_type: Annotated[
        Slug,
        Meta(description="The kind of object it is about, a lowercase slug (`patient_session_completion`)."),
    ]
    resource_id: Annotated[
        ResourceId,
        Meta(description="The id of that object as text (`789`); letters, digits, `_` and `-`."),
    ]
    properties: Annotated[
        Properties,
        Meta(
            description=(
                "Up to 50 flat scalar properties keyed by lowercase slugs (no nesting); never "
                "names, e-mails or free-text notes."
            )
        ),
    ] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp)


# The request body as documented, with the spec's "session started" sample.
AnalyticsEventBody = Annotated[
    AnalyticsEvent,
    Meta(
        examples=[
            {
                "event_name": "treatment_plan.session_started",
                "event_category": "treatment_plan",
                "timestamp": "2026-02-16T09:00:00Z",
                "resource_type": "patient_session_completion",
                "resource_id": "789",
                "properties": {"patient_treatment_plan_id": 42, "session_number": 6, "exercises_total": 4},
            }
        ]
    ),
]


analytics_event_decoder: BodyDecoder[AnalyticsEvent] = BodyDecoder(AnalyticsEvent)

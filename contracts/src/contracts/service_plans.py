"""Service plans (``/v1/service-plans``), what a patient holding one may use, and the service plans
patients hold.
"""

from datetime import date
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.paging import PageInfo
from contracts.refs import ServicePlanId
from contracts.types import (
    IntId,
    ShortText,
    Timestamp,
)

# Money in minor units (cents), up to a billion in major units; ISO 4217 currency codes.
PriceCents = Annotated[int, Meta(ge=0, le=100_000_000_000)]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]


ServicePlanName = Annotated[
    ShortText, Meta(description="The service plan's name (`Telerehab Premium`), 1-200 characters.")
]


TelerehabAccess = Annotated[
    bool,
    Meta(
        description=(
            "Whether holders may be enrolled in telerehab treatment plans (checked, active that day, at enrollment)."
        )
    ),
]


LibraryAccess = Annotated[
    bool,
    Meta(description="Whether holders may browse the library of published treatment plans and self-assign from it."),
]


# Service plans ----------------------------------------------------------------------------------------------


class ServicePlanCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/service-plans``: what a patient holding the plan may use."""

    name: ServicePlanName
    telerehab_access: TelerehabAccess = False
    library_access: LibraryAccess = False
    price_cents: Annotated[
        PriceCents | None,
        Meta(
            description=(
                "What one enrollment under the plan is charged, in minor units of ``currency``; give both or neither."
            )
        ),
    ] = None
    currency: Annotated[
        Currency | None,
        Meta(description="ISO 4217 code of `price_cents` (`EUR`); given with `price_cents` or not at all."),
    ] = None


class ServicePlan(msgspec.Struct, frozen=True, kw_only=True):
    """A service plan: what a patient holding it may use, and its price."""

    id: ServicePlanId
    name: ServicePlanName
    telerehab_access: TelerehabAccess
    library_access: LibraryAccess
    price_cents: Annotated[
        PriceCents | None,
        Meta(
            description=(
                "What one enrollment under the plan is charged, in minor units (cents) of "
                "`currency`; null when not priced."
            )
        ),
    ]
    currency: Annotated[
        Currency | None,
        Meta(description="ISO 4217 currency code of `price_cents`; null when not priced."),
    ]
    created_at: Annotated[Timestamp, Meta(description="When the service plan was created.")]


class ServicePlanList(PageInfo, frozen=True, kw_only=True):
    """One page of service plans."""

    service_plans: Annotated[list[ServicePlan], Meta(description="Service plans on this page.")]


HoldingStart = Annotated[
    date,
    Meta(description="First day the patient holds it (ISO 8601 date, the patient's time zone)."),
]

HoldingEnd = Annotated[date | None, Meta(description="Last day the patient holds it (inclusive); null for open-ended.")]


class PatientServicePlanCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patients/{id}/service-plans``: the patient holds the service plan from ``starts_on``
    through ``ends_on`` (open-ended without it)."""

    service_plan_id: Annotated[IntId, Meta(description="The service plan the patient holds.")]
    starts_on: HoldingStart
    ends_on: HoldingEnd = None


class PatientServicePlan(msgspec.Struct, frozen=True, kw_only=True):
    """A service plan a patient holds, and for when."""

    id: Annotated[IntId, Meta(description="The holding's id.")]
    patient_id: Annotated[IntId, Meta(description="The patient who holds it.")]
    service_plan: Annotated[ServicePlan, Meta(description="The service plan held.")]
    starts_on: HoldingStart
    ends_on: HoldingEnd
    cancelled_at: Annotated[
        Timestamp | None,
        Meta(description="When the holding was cancelled; null while not cancelled."),
    ]
    active: Annotated[
        bool,
        Meta(description="Whether it holds today in the patient's time zone: started, not ended, not cancelled."),
    ]
    created_at: Annotated[Timestamp, Meta(description="When the holding was recorded.")]


class PatientServicePlanList(PageInfo, frozen=True, kw_only=True):
    """One page of the service plans a patient holds."""

    patient_service_plans: Annotated[
        list[PatientServicePlan],
        Meta(description="Service plans the patient holds on this page."),
    ]


ServicePlanCreateBody = Annotated[
    ServicePlanCreate,
    Meta(
        examples=[
            {
                "name": "Telerehab Premium",
                "telerehab_access": True,
                "library_access": True,
                "price_cents": 4900,
                "currency": "EUR",
            }
        ]
    ),
]
PatientServicePlanCreateBody = Annotated[
    PatientServicePlanCreate,
    Meta(examples=[{"service_plan_id": 2, "starts_on": "2026-02-01", "ends_on": "2026-07-31"}]),
]

"""Enrollments (``patient_treatment_plans``): a patient following one frozen version of a plan."""

from datetime import date
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.plans import PlanType, SpecialistRef
from contracts.types import IntId, PlanId, ShortText, Timestamp

_NonNegative = Annotated[int, Meta(ge=0)]
_Positive = Annotated[int, Meta(ge=1)]


class EnrollmentStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PatientRef(msgspec.Struct, frozen=True):
    id: IntId
    name: ShortText


class EnrolledPlanRef(msgspec.Struct, frozen=True):
    id: PlanId
    name: ShortText
    type: PlanType


class SelfAssign(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plans/{id}/self-assign``."""

    start_date: date


class PatientTreatmentPlan(msgspec.Struct, frozen=True):
    """An enrollment as the spec's list shows it."""

    id: IntId
    patient: PatientRef
    treatment_plan: EnrolledPlanRef
    treatment_plan_version: _Positive
    assigned_by_specialist: SpecialistRef | None
    self_assigned: bool
    start_date: date
    end_date: date
    frequency_per_week: _Positive
    sessions_total: _Positive
    sessions_completed: _NonNegative
    sessions_skipped: _NonNegative
    # Two decimals, as the spec's 41.67.
    completion_percentage: Annotated[float, Meta(ge=0, le=100)]
    status: EnrollmentStatus
    approved_at: Timestamp | None
    created_at: Timestamp

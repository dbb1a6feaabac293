"""Enrollments (``patient_treatment_plans``): a patient following one frozen version of a plan."""

from datetime import date
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.plans import PlanType, SpecialistRef
from contracts.types import IntId, Limit, Page, PlanId, ShortText, Timestamp

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


# Why a status changed, as staff or the patient wrote it: 1-500 characters with one visible.
Reason = Annotated[str, Meta(min_length=1, max_length=500, pattern=r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]


class EnrollmentAssign(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patient-treatment-plans``: enroll a patient in a plan's latest published version."""

    patient_id: IntId
    treatment_plan_id: PlanId
    start_date: date
    # The specialist responsible for the enrollment; optional, so an admin may assign without naming one.
    assigned_by_specialist_id: IntId | None = None
    # The service plan that covers it; found automatically for telerehab plans when omitted.
    patient_service_plan_id: IntId | None = None


class EnrollmentStatusChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /v1/patient-treatment-plans/{id}/status``."""

    status: EnrollmentStatus
    reason: Reason


class PatientTreatmentPlanList(msgspec.Struct, frozen=True):
    """One page of enrollments."""

    patient_treatment_plans: list[PatientTreatmentPlan]
    total: _NonNegative
    page: Page
    limit: Limit
    total_pages: _NonNegative


class EnrolledVersionSession(msgspec.Struct, frozen=True):
    """A session of the frozen version, as the enrollment follows it."""

    session_number: _Positive
    name: ShortText
    estimated_duration_minutes: _Positive | None
    exercises_count: _NonNegative


class EnrolledPlanVersion(msgspec.Struct, frozen=True):
    """The published version the enrollment was frozen on, whatever happened to the plan since."""

    version: _Positive
    name: ShortText
    type: PlanType
    frequency_per_week: _Positive
    duration_weeks: _Positive
    sessions_count: _NonNegative
    published_at: Timestamp
    sessions: list[EnrolledVersionSession]


class EnrollmentProgress(msgspec.Struct, frozen=True):
    """Counters of the enrollment; ``current_week`` is 0 before start_date, in the patient's time zone."""

    sessions_total: _Positive
    sessions_completed: _NonNegative
    sessions_skipped: _NonNegative
    sessions_remaining: _NonNegative
    completion_percentage: Annotated[float, Meta(ge=0, le=100)]
    current_week: _NonNegative
    total_weeks: _Positive


class EnrollmentStatusChangeRecord(msgspec.Struct, frozen=True):
    """One status change of the enrollment's history; ``changed_by_user_id`` is null for the system."""

    from_status: EnrollmentStatus
    to_status: EnrollmentStatus
    reason: str
    changed_by_user_id: IntId | None
    changed_by_role: str
    changed_at: Timestamp


class SessionHistoryStatus(StrEnum):
    """The states of a session completion (as session execution writes them)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    SKIPPED = "skipped"


class SessionHistoryEntry(msgspec.Struct, frozen=True):
    """One session the patient started, completed or skipped under this enrollment."""

    id: IntId
    session_number: _Positive
    status: SessionHistoryStatus
    started_at: Timestamp
    completed_at: Timestamp | None
    skipped_at: Timestamp | None
    duration_seconds: _NonNegative | None


class PatientTreatmentPlanDetail(PatientTreatmentPlan, frozen=True, kw_only=True):
    """``GET /v1/patient-treatment-plans/{id}``: the list item plus the frozen version, progress, the
    status history and the session history."""

    plan_version: EnrolledPlanVersion
    progress: EnrollmentProgress
    status_history: list[EnrollmentStatusChangeRecord]
    session_history: list[SessionHistoryEntry]

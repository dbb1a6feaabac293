"""Enrollments (``patient_treatment_plans``): a patient following one frozen version of a plan."""

from datetime import date
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.plans import PlanType, TreatmentPlanId
from contracts.refs import SpecialistRef
from contracts.types import (
    CompletedAt,
    CurrentWeek,
    EnrollmentId,
    EnrollmentStart,
    IntId,
    Limit,
    NonNegativeInt,
    Page,
    PatientId,
    PlanId,
    PositiveInt,
    SessionName,
    SessionsCompleted,
    SessionSeconds,
    SessionsRemaining,
    SessionsSkipped,
    SessionsTotal,
    ShortText,
    SkippedAt,
    Timestamp,
    TotalWeeks,
)


class EnrollmentStatus(StrEnum):
    """An enrollment's status (docs/enrollments.md has the transition table).

    - ``pending_approval``: assigned from a plan that requires approval; waits for staff to approve it.
    - ``active``: the patient can do sessions.
    - ``paused``: on hold (by staff, or by the patient); no session is offered.
    - ``completed``: every session was completed, or staff marked it completed (final).
    - ``cancelled``: ended early by staff, or when the patient's data was erased (final).
    - ``expired``: its end date passed in the patient's time zone before it completed, or staff marked it
      expired (final).
    """

    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PatientRef(msgspec.Struct, frozen=True):
    """A patient, as an enrollment names them."""

    id: PatientId
    name: Annotated[ShortText, Meta(description="The patient's display name.")]


class EnrolledPlanRef(msgspec.Struct, frozen=True):
    """The treatment plan an enrollment follows."""

    id: TreatmentPlanId
    name: Annotated[ShortText, Meta(description="The plan's name.")]
    type: Annotated[PlanType, Meta(description="How the plan is delivered: `telerehab` or `in_clinic`.")]


RequestedStartDate = Annotated[
    date,
    Meta(
        description=(
            "The first day of the enrollment, a calendar date in the patient's time zone; its "
            "window (start_date + 7 * duration_weeks days) may not be over already."
        )
    ),
]


class SelfAssign(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /v1/treatment-plans/{id}/self-assign``."""

    start_date: RequestedStartDate


SelfAssignBody = Annotated[SelfAssign, Meta(examples=[{"start_date": "2026-02-17"}])]

EnrolledPatient = Annotated[PatientRef, Meta(description="The enrolled patient.")]

EnrolledPlan = Annotated[EnrolledPlanRef, Meta(description="The plan the enrollment follows.")]


class PatientTreatmentPlan(msgspec.Struct, frozen=True):
    """An enrollment as the spec's list shows it."""

    id: EnrollmentId
    patient: EnrolledPatient
    treatment_plan: EnrolledPlan
    treatment_plan_version: Annotated[
        PositiveInt,
        Meta(description="The published version number of the plan the enrollment was frozen on at assignment."),
    ]
    assigned_by_specialist: Annotated[
        SpecialistRef | None,
        Meta(
            description=(
                "The specialist responsible for the enrollment; null when self-assigned or assigned without one."
            )
        ),
    ]
    self_assigned: Annotated[bool, Meta(description="Whether the patient enrolled themself from the library.")]
    start_date: EnrollmentStart
    end_date: Annotated[
        date,
        Meta(
            description=(
                "start_date + 7 * duration_weeks days, in the patient's time zone; the enrollment "
                "expires after this day."
            )
        ),
    ]
    frequency_per_week: Annotated[PositiveInt, Meta(description="Sessions per week, frozen from the plan version.")]
    sessions_total: Annotated[
        PositiveInt,
        Meta(
            description=(
                "Sessions the enrollment prescribes in all (frequency_per_week * duration_weeks of the frozen version)."
            )
        ),
    ]
    sessions_completed: SessionsCompleted
    sessions_skipped: SessionsSkipped
    completion_percentage: Annotated[
        Annotated[float, Meta(ge=0, le=100)],
        Meta(description="100 * sessions_completed / sessions_total, 0-100, rounded to two decimals (41.67)."),
    ]
    status: Annotated[
        EnrollmentStatus,
        Meta(
            description=(
                "The enrollment's status as of now (an active or paused enrollment past its end date in "
                "the patient's time zone shows `expired`)."
            )
        ),
    ]
    approved_at: Annotated[
        Timestamp | None,
        Meta(
            description=(
                "When staff approved the enrollment (UTC, RFC 3339); null when it needed no approval or "
                "is not approved yet."
            )
        ),
    ]
    created_at: Annotated[Timestamp, Meta(description="When the enrollment was created (UTC, RFC 3339).")]


# Why a status changed, as staff or the patient wrote it: 1-500 characters with one visible.
Reason = Annotated[str, Meta(min_length=1, max_length=500, pattern=r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]


class EnrollmentAssign(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/patient-treatment-plans``: enroll a patient in a plan's latest published version."""

    patient_id: Annotated[IntId, Meta(description="Id of the patient to enroll, in the caller's organization.")]
    treatment_plan_id: Annotated[
        PlanId,
        Meta(
            description=(
                "Id (UUID) of a plan with a published version; the latest published version is frozen "
                "for the enrollment."
            )
        ),
    ]
    start_date: RequestedStartDate
    assigned_by_specialist_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "Id of the specialist responsible for the enrollment; null or absent for none (an admin "
                "may assign without naming one)."
            )
        ),
    ] = None
    patient_service_plan_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "Id of the patient's service plan that covers the enrollment; null or absent finds the "
                "patient's most recent active one with telerehab access (telerehab plans need one)."
            )
        ),
    ] = None


EnrollmentAssignBody = Annotated[
    EnrollmentAssign,
    Meta(
        examples=[
            {
                "patient_id": 123,
                "treatment_plan_id": "550e8400-e29b-41d4-a716-446655440000",
                "start_date": "2026-02-10",
                "assigned_by_specialist_id": 5,
                "patient_service_plan_id": None,
            }
        ]
    ),
]


class EnrollmentStatusChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /v1/patient-treatment-plans/{id}/status``."""

    status: Annotated[
        EnrollmentStatus,
        Meta(
            description=(
                "The status to move to; see the allowed transitions in docs/enrollments.md (patients "
                "may only pause and resume: `paused` and `active`)."
            )
        ),
    ]
    reason: Annotated[
        Reason,
        Meta(
            description=(
                "Why the status changes, 1-500 characters with at least one visible one; kept in the status history."
            )
        ),
    ]


EnrollmentStatusChangeBody = Annotated[
    EnrollmentStatusChange, Meta(examples=[{"status": "paused", "reason": "Patient traveling for 2 weeks"}])
]


class PatientTreatmentPlanList(msgspec.Struct, frozen=True):
    """One page of enrollments."""

    patient_treatment_plans: Annotated[list[PatientTreatmentPlan], Meta(description="The enrollments of this page.")]
    total: Annotated[NonNegativeInt, Meta(description="Number of enrollments matching the filters, over all pages.")]
    page: Annotated[Page, Meta(description="The 1-based page number returned.")]
    limit: Annotated[Limit, Meta(description="Items per page as requested (1-100).")]
    total_pages: Annotated[NonNegativeInt, Meta(description="Number of pages at this limit; 0 when nothing matches.")]


class EnrolledVersionSession(msgspec.Struct, frozen=True):
    """A session of the frozen version, as the enrollment follows it."""

    session_number: Annotated[
        PositiveInt, Meta(description="1-based position of the session in the version's rotation.")
    ]
    name: SessionName
    estimated_duration_minutes: Annotated[
        PositiveInt | None,
        Meta(description="Estimated length of the session in minutes; null when not given."),
    ]
    exercises_count: Annotated[NonNegativeInt, Meta(description="Number of exercises in the session.")]


class EnrolledPlanVersion(msgspec.Struct, frozen=True):
    """The published version the enrollment was frozen on, whatever happened to the plan since."""

    version: Annotated[PositiveInt, Meta(description="The version number the enrollment follows.")]
    name: Annotated[ShortText, Meta(description="The plan's name in that version.")]
    type: Annotated[PlanType, Meta(description="How the plan is delivered: `telerehab` or `in_clinic`.")]
    frequency_per_week: Annotated[PositiveInt, Meta(description="Sessions per week in that version.")]
    duration_weeks: Annotated[PositiveInt, Meta(description="Length of the plan in weeks in that version.")]
    sessions_count: Annotated[
        NonNegativeInt,
        Meta(description="Number of distinct sessions in that version (the rotation)."),
    ]
    published_at: Annotated[Timestamp, Meta(description="When that version was published (UTC, RFC 3339).")]
    sessions: Annotated[list[EnrolledVersionSession], Meta(description="The version's sessions by session_number.")]


class EnrollmentProgress(msgspec.Struct, frozen=True):
    """Counters of the enrollment; ``current_week`` is 0 before start_date, in the patient's time zone."""

    sessions_total: SessionsTotal
    sessions_completed: SessionsCompleted
    sessions_skipped: SessionsSkipped
    sessions_remaining: SessionsRemaining
    completion_percentage: Annotated[
        Annotated[float, Meta(ge=0, le=100)],
        Meta(description="100 * sessions_completed / sessions_total, 0-100, rounded to two decimals."),
    ]
    current_week: CurrentWeek
    total_weeks: TotalWeeks


class EnrollmentStatusChangeRecord(msgspec.Struct, frozen=True):
    """One status change of the enrollment's history; ``changed_by_user_id`` is null for the system."""

    from_status: Annotated[EnrollmentStatus, Meta(description="The status before the change.")]
    to_status: Annotated[EnrollmentStatus, Meta(description="The status after the change.")]
    reason: Annotated[
        str,
        Meta(
            description=(
                "Why the status changed, as written by whoever changed it (`approved` for an approval, "
                "`end_date passed` for an expiry)."
            )
        ),
    ]
    changed_by_user_id: Annotated[
        IntId | None,
        Meta(description="Id of the user who changed it; null when the system did (expiry)."),
    ]
    changed_by_role: Annotated[
        str,
        Meta(
            description=(
                "The role of who changed it: `admin`, `specialist`, `patient`, or `system` for changes "
                "made by core-api itself (expiry)."
            )
        ),
    ]
    changed_at: Annotated[Timestamp, Meta(description="When the status changed (UTC, RFC 3339).")]


class SessionHistoryStatus(StrEnum):
    """The states of a session completion (as session execution writes them).

    - ``in_progress``: started, not finished yet.
    - ``completed``: finished; counts toward ``sessions_completed``.
    - ``skipped``: declined after it was started; counts toward ``sessions_skipped``.
    """

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    SKIPPED = "skipped"


class SessionHistoryEntry(msgspec.Struct, frozen=True):
    """One session the patient started, completed or skipped under this enrollment."""

    id: Annotated[IntId, Meta(description="The session completion's id.")]
    session_number: Annotated[PositiveInt, Meta(description="Which session of the plan's rotation it was (1-based).")]
    status: Annotated[SessionHistoryStatus, Meta(description="`in_progress`, `completed` or `skipped`.")]
    started_at: Annotated[Timestamp, Meta(description="When the patient started the session (UTC, RFC 3339).")]
    completed_at: CompletedAt
    skipped_at: SkippedAt
    duration_seconds: SessionSeconds


class PatientTreatmentPlanDetail(PatientTreatmentPlan, frozen=True, kw_only=True):
    """``GET /v1/patient-treatment-plans/{id}``: the list item plus the frozen version, progress, the
    status history and the session history."""

    plan_version: Annotated[
        EnrolledPlanVersion,
        Meta(description="The published plan version the enrollment follows, whatever happened to the plan since."),
    ]
    progress: Annotated[EnrollmentProgress, Meta(description="The enrollment's counters and current week.")]
    status_history: Annotated[
        list[EnrollmentStatusChangeRecord],
        Meta(description="Every status change, oldest first."),
    ]
    session_history: Annotated[
        list[SessionHistoryEntry],
        Meta(
            description=(
                "Every session the patient started under this enrollment (completed, skipped or in "
                "progress), by start time."
            )
        ),
    ]

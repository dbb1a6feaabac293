"""Adherence reports: an enrollment's expected session slots, their states and percentages.

Every number comes from core-api's adherence engine (docs/adherence.md). Integer percentages
(``adherence_percent``, ``noncompliance_percent``) are floored; ``rate`` fields keep one decimal, as the
spec's 66.7.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.enrollments import EnrolledPatient, EnrolledPlan, EnrolledPlanRef, EnrollmentStatus
from contracts.types import (
    EnrollmentId,
    IntId,
    Limit,
    NonNegativeInt,
    Page,
    PatientId,
    Percentage,
    PlanWeek,
    PositiveInt,
    Timestamp,
    WholePercent,
)

# Structs with a field named ``date`` shadow the type inside their body.
_Date = date


class SlotState(StrEnum):
    """The state of one expected session slot (docs/adherence.md), checked in this order.

    - ``not_applicable``: the enrollment was not active at any moment of the window (pending, paused,
      cancelled), or the window is in the future while the enrollment is not active now; not offered.
    - ``declined``: the session that decides the slot was skipped; noncompliant.
    - ``completed``: a session started in the window and was completed before it closed; compliant.
    - ``not_yet_available``: never started, window in the future; not offered.
    - ``expired``: never started, window closed; noncompliant.
    - ``unstarted``: never started, window open now; unknown.
    - ``abandoned``: started in the window, not completed before it closed; noncompliant.
    - ``started``: started in the window, not completed, window open now; unknown.
    """

    NOT_APPLICABLE = "not_applicable"
    DECLINED = "declined"
    COMPLETED = "completed"
    NOT_YET_AVAILABLE = "not_yet_available"
    EXPIRED = "expired"
    UNSTARTED = "unstarted"
    ABANDONED = "abandoned"
    STARTED = "started"


class AdherenceSummary(msgspec.Struct, frozen=True):
    """Percentages over a set of slots. ``offered`` excludes not_yet_available and not_applicable."""

    adherence_percent: Annotated[
        WholePercent,
        Meta(description="floor(100 * compliant / offered), 0-100; 100 when nothing was offered yet."),
    ]
    noncompliance_percent: Annotated[
        WholePercent,
        Meta(
            description=(
                "floor(100 * noncompliant / (compliant + noncompliant + unknown)), 0-100; 0 when nothing was offered."
            )
        ),
    ]
    rate: Annotated[
        Percentage,
        Meta(description="100 * compliant / offered with one decimal (66.7), 0-100; 100.0 when nothing was offered."),
    ]
    noncompliance_rate: Annotated[
        Percentage,
        Meta(description="100 * noncompliant / offered with one decimal, 0-100; 0.0 when nothing was offered."),
    ]
    compliant: Annotated[NonNegativeInt, Meta(description="Slots `completed`.")]
    noncompliant: Annotated[NonNegativeInt, Meta(description="Slots `declined`, `expired` or `abandoned`.")]
    unknown: Annotated[NonNegativeInt, Meta(description="Slots still open: `unstarted` or `started`.")]
    offered: Annotated[
        NonNegativeInt,
        Meta(description="Slots offered: every slot but `not_yet_available` and `not_applicable`."),
    ]


class AdherenceSlot(msgspec.Struct, frozen=True):
    """One expected session: its window (``*_local`` in the patient's zone, the others in UTC)."""

    week: Annotated[PositiveInt, Meta(description="1-based plan week of the slot.")]
    index_in_week: Annotated[
        PositiveInt,
        Meta(description="1-based position of the slot within its week."),
    ]
    opens_at: Annotated[Timestamp, Meta(description="When the slot's window opens (UTC, RFC 3339).")]
    closes_at: Annotated[
        Timestamp,
        Meta(description="When the window closes, exclusive (UTC, RFC 3339); the next slot opens then."),
    ]
    opens_at_local: Annotated[
        Timestamp,
        Meta(description="opens_at as local time with the patient's UTC offset (RFC 3339)."),
    ]
    closes_at_local: Annotated[
        Timestamp,
        Meta(description="closes_at as local time with the patient's UTC offset (RFC 3339)."),
    ]
    state: Annotated[SlotState, Meta(description="The slot's state as of the report (see SlotState).")]
    completion_id: Annotated[
        IntId | None,
        Meta(
            description=(
                "Id of the session completion that decided a `completed`, `declined`, `started` or "
                "`abandoned` slot; null otherwise."
            )
        ),
    ]


WeekSummary = Annotated[AdherenceSummary, Meta(description="Percentages over the week's slots.")]

SessionsVerified = Annotated[
    NonNegativeInt,
    Meta(
        description=(
            "Of the `completed` slots (`summary.compliant`, the sessions reported), those whose session's "
            "evidence is `verified`: telemetry measured what the app reported (docs/adherence.md)."
        )
    ),
]
SessionsContradicted = Annotated[
    NonNegativeInt,
    Meta(
        description=(
            "Of the `completed` slots, those whose session's evidence is `contradicted`: telemetry measured "
            "less than the app reported, beyond the organization's thresholds."
        )
    ),
]


class AdherenceWeek(msgspec.Struct, frozen=True):
    """One plan week of an enrollment: its local dates, summary and slots."""

    week: PlanWeek
    start_date: Annotated[date, Meta(description="First local day of the week in the patient's time zone.")]
    end_date: Annotated[date, Meta(description="Last local day of the week in the patient's time zone.")]
    summary: WeekSummary
    slots: Annotated[list[AdherenceSlot], Meta(description="The week's slots in order.")]
    sessions_verified: SessionsVerified = 0
    sessions_contradicted: SessionsContradicted = 0


ThresholdPercent = Annotated[
    WholePercent,
    Meta(description="The organization's adherence threshold in percent, 1-100."),
]

ReportTimeZone = Annotated[
    str,
    Meta(
        description=(
            "The patient's IANA time zone (`Europe/Madrid`) the windows and local dates are "
            "computed in; `UTC` when the stored zone is unknown."
        )
    ),
]

ReportedAsOf = Annotated[Timestamp, Meta(description="The instant the report was computed for: now (UTC, RFC 3339).")]

BelowThreshold = Annotated[bool, Meta(description="Whether adherence_percent is strictly below threshold_percent.")]


class EventStreamReport(msgspec.Struct, frozen=True):
    """``GET /v1/patient-treatment-plans/{id}/adherence``: every slot of the enrollment, by week."""

    patient_treatment_plan_id: EnrollmentId
    patient_id: PatientId
    status: Annotated[EnrollmentStatus, Meta(description="The enrollment's status as of now.")]
    time_zone: ReportTimeZone
    start_date: Annotated[date, Meta(description="First day of the enrollment, in the patient's time zone.")]
    end_date: Annotated[date, Meta(description="Last day of the enrollment's window, in the patient's time zone.")]
    frequency_per_week: Annotated[PositiveInt, Meta(description="Slots (sessions) per week.")]
    as_of: ReportedAsOf
    threshold_percent: ThresholdPercent
    below_threshold: BelowThreshold
    summary: Annotated[AdherenceSummary, Meta(description="Percentages over every slot of the enrollment.")]
    weeks: Annotated[list[AdherenceWeek], Meta(description="Every week of the enrollment with its slots.")]
    sessions_verified: Annotated[
        NonNegativeInt, Meta(description="Of every `completed` slot, those whose session's evidence is `verified`.")
    ] = 0
    sessions_contradicted: Annotated[
        NonNegativeInt,
        Meta(description="Of every `completed` slot, those whose session's evidence is `contradicted`."),
    ] = 0


class AdherenceDay(msgspec.Struct, frozen=True):
    """One local calendar day of a plan week and the slots that open on it."""

    date: Annotated[_Date, Meta(description="A local calendar day in the patient's time zone.")]
    slots: Annotated[list[AdherenceSlot], Meta(description="The slots whose window opens on that day.")]


class WeeklyAdherenceReport(msgspec.Struct, frozen=True, omit_defaults=True):
    """``GET /v1/patient-treatment-plans/{id}/adherence/weekly``: the plan week containing ``date``.

    The stored copy of a week (weekly_adherence_reports) leaves the evidence counts out (``None``, the only
    defaults, are omitted): they are counted when read."""

    patient_treatment_plan_id: EnrollmentId
    patient_id: PatientId
    time_zone: ReportTimeZone
    date: Annotated[_Date, Meta(description="The day asked for (default today), in the patient's time zone.")]
    week: Annotated[
        PositiveInt | None,
        Meta(
            description=(
                "The 1-based plan week containing `date`; null when the date is before the start or after the end."
            )
        ),
    ]
    week_start: Annotated[_Date, Meta(description="First local day of that week.")]
    week_end: Annotated[_Date, Meta(description="Last local day of that week.")]
    as_of: ReportedAsOf
    threshold_percent: ThresholdPercent
    below_threshold: BelowThreshold
    summary: WeekSummary
    days: Annotated[
        list[AdherenceDay],
        Meta(description="The week's seven local days, each with the slots that open on it."),
    ]
    next_slot_date: Annotated[
        _Date | None,
        Meta(
            description=(
                "When the week has no slots: the local day the first slot opens (the start date) before "
                "the start; null after the end or when the week has slots."
            )
        ),
    ]
    sessions_verified: Annotated[
        NonNegativeInt | None,
        Meta(
            description=(
                "Of the week's `completed` slots, those whose session's evidence is `verified`; counted when "
                "read (evidence arrives after the session), so absent only from the stored weekly rows."
            )
        ),
    ] = None
    sessions_contradicted: Annotated[
        NonNegativeInt | None,
        Meta(
            description=(
                "Of the week's `completed` slots, those whose session's evidence is `contradicted`; absent "
                "only from the stored weekly rows."
            )
        ),
    ] = None


class OrganizationWeeklyRow(msgspec.Struct, frozen=True):
    """One active enrollment on the organization's weekly adherence page."""

    patient_treatment_plan_id: EnrollmentId
    patient: EnrolledPatient
    treatment_plan: EnrolledPlan
    assigned_by_specialist_id: Annotated[
        IntId | None,
        Meta(description="Id of the specialist responsible for the enrollment; null when none."),
    ]
    week: Annotated[
        PositiveInt | None,
        Meta(
            description=(
                "The enrollment's 1-based plan week containing the requested week; null when outside the enrollment."
            )
        ),
    ]
    week_start: Annotated[date, Meta(description="First local day of that plan week, in the patient's time zone.")]
    below_threshold: Annotated[
        bool,
        Meta(description="Whether the week's adherence_percent is strictly below the organization's threshold now."),
    ]
    summary: Annotated[AdherenceSummary, Meta(description="Percentages over that week's slots.")]
    days: Annotated[list[AdherenceDay], Meta(description="The week's seven local days with their slots.")]
    sessions_verified: SessionsVerified = 0
    sessions_contradicted: SessionsContradicted = 0


class OrganizationWeeklyAdherence(msgspec.Struct, frozen=True):
    """``GET /v1/adherence/weekly``: one row per active enrollment, lowest adherence first."""

    week: Annotated[
        date,
        Meta(description="The day whose plan week each row shows (default today in the organization's time zone)."),
    ]
    threshold_percent: ThresholdPercent
    rows: Annotated[
        list[OrganizationWeeklyRow],
        Meta(description="One row per active enrollment, lowest weekly adherence first, then by enrollment id."),
    ]
    total: Annotated[NonNegativeInt, Meta(description="Rows matching the filters, over all pages.")]
    page: Annotated[Page, Meta(description="The 1-based page number returned.")]
    limit: Annotated[Limit, Meta(description="Rows per page as requested (1-100, default 25).")]
    total_pages: Annotated[NonNegativeInt, Meta(description="Number of pages at this limit; 0 when nothing matches.")]


class PlanAdherenceStats(msgspec.Struct, frozen=True):
    """One plan's active enrollments and how many are below the threshold (to date)."""

    treatment_plan: Annotated[EnrolledPlanRef, Meta(description="The plan.")]
    active: Annotated[NonNegativeInt, Meta(description="Active enrollments of the plan.")]
    compliant: Annotated[
        NonNegativeInt,
        Meta(description="Of those, the ones whose adherence to date is at or above the threshold."),
    ]
    noncompliant: Annotated[
        NonNegativeInt,
        Meta(description="Of those, the ones whose adherence to date is strictly below the threshold."),
    ]


class AdherenceStats(msgspec.Struct, frozen=True):
    """``GET /v1/adherence/stats``: active enrollments and how many are below the threshold (to date)."""

    threshold_percent: ThresholdPercent
    active: Annotated[NonNegativeInt, Meta(description="Active enrollments.")]
    compliant: Annotated[
        NonNegativeInt,
        Meta(description="Active enrollments whose adherence to date is at or above the threshold."),
    ]
    noncompliant: Annotated[
        NonNegativeInt,
        Meta(description="Active enrollments whose adherence to date is strictly below the threshold."),
    ]
    plans: Annotated[list[PlanAdherenceStats], Meta(description="The same counts per treatment plan.")]


class AdherenceTrendWeek(msgspec.Struct, frozen=True):
    """One stored plan week of an enrollment. ``final`` once it was computed after the week closed;
    otherwise the week is current and its numbers may still change."""

    week_start: Annotated[date, Meta(description="First local day of the plan week, in the patient's time zone.")]
    week_number: PlanWeek
    adherence_percent: Annotated[WholePercent, Meta(description="The week's adherence, floored, 0-100.")]
    noncompliance_percent: Annotated[WholePercent, Meta(description="The week's noncompliance, floored, 0-100.")]
    final: Annotated[
        bool,
        Meta(
            description=(
                "Whether the row was computed after the week closed (its numbers will not change); "
                "false for the current week."
            )
        ),
    ]
    computed_at: Annotated[Timestamp, Meta(description="When the row was computed (UTC, RFC 3339).")]
    sessions_verified: Annotated[
        NonNegativeInt,
        Meta(
            description=(
                "Of the stored week's `completed` slots, those whose session's evidence is `verified` now "
                "(counted when read: evidence can arrive after the week closed)."
            )
        ),
    ] = 0
    sessions_contradicted: Annotated[
        NonNegativeInt,
        Meta(
            description="Of the stored week's `completed` slots, those whose session's evidence is `contradicted` now."
        ),
    ] = 0


class AdherenceTrend(msgspec.Struct, frozen=True):
    """``GET /v1/patient-treatment-plans/{id}/adherence/trend``: the stored weekly series, by week."""

    patient_treatment_plan_id: EnrollmentId
    weeks: Annotated[
        list[AdherenceTrendWeek],
        Meta(description="The stored weekly rows, by week; empty before anything was stored."),
    ]

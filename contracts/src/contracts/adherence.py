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

from contracts.enrollments import EnrolledPlanRef, EnrollmentStatus, PatientRef
from contracts.types import IntId, Limit, Page, Percentage, Timestamp

_Count = Annotated[int, Meta(ge=0)]
_IntPercent = Annotated[int, Meta(ge=0, le=100)]
_WeekNumber = Annotated[int, Meta(ge=1)]
# Structs with a field named ``date`` shadow the type inside their body.
_Date = date


class SlotState(StrEnum):
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

    adherence_percent: _IntPercent
    noncompliance_percent: _IntPercent
    # adherence and noncompliance with one decimal (66.7)
    rate: Percentage
    noncompliance_rate: Percentage
    compliant: _Count
    noncompliant: _Count
    unknown: _Count
    offered: _Count


class AdherenceSlot(msgspec.Struct, frozen=True):
    """One expected session: its window (``*_local`` in the patient's zone, the others in UTC)."""

    week: _WeekNumber
    index_in_week: Annotated[int, Meta(ge=1)]
    opens_at: Timestamp
    closes_at: Timestamp
    opens_at_local: Timestamp
    closes_at_local: Timestamp
    state: SlotState
    # The session that decided the slot (completed, skipped, started or abandoned), if any.
    completion_id: IntId | None


class AdherenceWeek(msgspec.Struct, frozen=True):
    week: _WeekNumber
    start_date: date
    end_date: date  # the last day of the week
    summary: AdherenceSummary
    slots: list[AdherenceSlot]


class EventStreamReport(msgspec.Struct, frozen=True):
    """``GET /v1/patient-treatment-plans/{id}/adherence``: every slot of the enrollment, by week."""

    patient_treatment_plan_id: IntId
    patient_id: IntId
    status: EnrollmentStatus
    time_zone: str
    start_date: date
    end_date: date
    frequency_per_week: Annotated[int, Meta(ge=1)]
    as_of: Timestamp
    threshold_percent: _IntPercent
    below_threshold: bool
    summary: AdherenceSummary
    weeks: list[AdherenceWeek]


class AdherenceDay(msgspec.Struct, frozen=True):
    """One local calendar day of a plan week and the slots that open on it."""

    date: _Date
    slots: list[AdherenceSlot]


class WeeklyAdherenceReport(msgspec.Struct, frozen=True):
    """``GET /v1/patient-treatment-plans/{id}/adherence/weekly``: the plan week containing ``date``."""

    patient_treatment_plan_id: IntId
    patient_id: IntId
    time_zone: str
    date: _Date
    # The 1-based plan week, or None when the date is before the start or after the end.
    week: _WeekNumber | None
    week_start: _Date
    week_end: _Date
    as_of: Timestamp
    threshold_percent: _IntPercent
    below_threshold: bool
    summary: AdherenceSummary
    days: list[AdherenceDay]
    # When the week has no slots: the day the next week with slots opens (None after the end).
    next_slot_date: _Date | None


class OrganizationWeeklyRow(msgspec.Struct, frozen=True):
    patient_treatment_plan_id: IntId
    patient: PatientRef
    treatment_plan: EnrolledPlanRef
    assigned_by_specialist_id: IntId | None
    week: _WeekNumber | None
    week_start: date
    below_threshold: bool
    summary: AdherenceSummary
    days: list[AdherenceDay]


class OrganizationWeeklyAdherence(msgspec.Struct, frozen=True):
    """``GET /v1/adherence/weekly``: one row per active enrollment, lowest adherence first."""

    week: date
    threshold_percent: _IntPercent
    rows: list[OrganizationWeeklyRow]
    total: _Count
    page: Page
    limit: Limit
    total_pages: _Count


class PlanAdherenceStats(msgspec.Struct, frozen=True):
    treatment_plan: EnrolledPlanRef
    active: _Count
    compliant: _Count
    noncompliant: _Count


class AdherenceStats(msgspec.Struct, frozen=True):
    """``GET /v1/adherence/stats``: active enrollments and how many are below the threshold (to date)."""

    threshold_percent: _IntPercent
    active: _Count
    compliant: _Count
    noncompliant: _Count
    plans: list[PlanAdherenceStats]


class AdherenceTrendWeek(msgspec.Struct, frozen=True):
    """One stored plan week of an enrollment. ``final`` once it was computed after the week closed;
    otherwise the week is current and its numbers may still change."""

    week_start: date
    week_number: _WeekNumber
    adherence_percent: _IntPercent
    noncompliance_percent: _IntPercent
    final: bool
    computed_at: Timestamp


class AdherenceTrend(msgspec.Struct, frozen=True):
    """``GET /v1/patient-treatment-plans/{id}/adherence/trend``: the stored weekly series, by week."""

    patient_treatment_plan_id: IntId
    weeks: list[AdherenceTrendWeek]


class OrganizationSettingsUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /v1/organizations/current/settings``: an enrollment is below threshold (and alerts) when its
    adherence % is strictly below this."""

    adherence_threshold_percent: Annotated[int, Meta(ge=1, le=100)]


class OrganizationSettings(msgspec.Struct, frozen=True):
    """The organization's adherence settings."""

    adherence_threshold_percent: _IntPercent

"""HTTP routes of adherence reports: one enrollment's event stream and week, and the organization's page.

Staff read every enrollment of their organization; a patient only their own (another's is a 404, as
everywhere). The organization routes are for staff; a specialist sees only the enrollments they assigned.
Reports are computed as of now: the spec keeps "today" fixed, and tests move the enrollment's dates.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from contracts.adherence import (
    AdherenceStats,
    AdherenceTrend,
    EventStreamReport,
    OrganizationWeeklyAdherence,
    WeeklyAdherenceReport,
)
from contracts.organization_settings import OrganizationSettings, OrganizationSettingsUpdate
from litestar import Controller, put
from litestar.params import JSONBody, QueryParameter
from service_common.auth.actor import CurrentActor
from service_common.errors import problem_responses

from core_api.adherence.service import OrganizationFilters
from core_api.dependencies import Adherence
from core_api.paging import IdPath, IdQuery, PageRequest
from core_api.routing import ADMIN, STAFF, read

# schema_extra repeats the lower bound: Litestar leaves a bound of 0 out of the OpenAPI document.
PercentQuery = Annotated[
    int | None,
    QueryParameter(ge=0, le=100, description="inclusive bound on adherence %", schema_extra={"minimum": 0}),
]


class AdherenceController(Controller):
    path = "/v1"
    tags = ["adherence"]

    @read("/patient-treatment-plans/{enrollment_id:int}/adherence", "GetEnrollmentAdherence")
    async def event_stream(self, actor: CurrentActor, adherence: Adherence, enrollment_id: IdPath) -> EventStreamReport:
        """Every expected session slot of the enrollment by week, with its window, state and the session
        that decided it, and adherence and noncompliance overall and per week, as of now."""
        return await adherence.event_stream(actor, enrollment_id)

    @read("/patient-treatment-plans/{enrollment_id:int}/adherence/weekly", "GetEnrollmentWeeklyAdherence")
    async def weekly(
        self,
        actor: CurrentActor,
        adherence: Adherence,
        enrollment_id: IdPath,
        day: Annotated[
            date | None,
            QueryParameter(name="date", description="a local date in the week; today in the patient's zone"),
        ] = None,
    ) -> WeeklyAdherenceReport:
        """The seven days of the plan week containing ``date``, the slots opening on each, and the week's
        percentages; outside the plan, the date the next week with slots starts."""
        return await adherence.weekly(actor, enrollment_id, day)

    @read("/patient-treatment-plans/{enrollment_id:int}/adherence/trend", "GetEnrollmentAdherenceTrend")
    async def trend(self, actor: CurrentActor, adherence: Adherence, enrollment_id: IdPath) -> AdherenceTrend:
        """The enrollment's stored weekly series (weekly_adherence_reports), by week: each week's
        adherence and noncompliance and whether it is final (computed after the week closed) or current."""
        return await adherence.trend(actor, enrollment_id)

    @read("/adherence/weekly", "ListWeeklyAdherence", STAFF)
    async def organization_weekly(
        self,
        actor: CurrentActor,
        adherence: Adherence,
        week: Annotated[
            date | None,
            QueryParameter(description="a date; each enrollment's plan week containing it (default today)"),
        ] = None,
        min_percent: PercentQuery = None,
        max_percent: PercentQuery = None,
        specialist_id: IdQuery = None,
        q: Annotated[str | None, QueryParameter(min_length=1, max_length=200, description="patient name")] = None,
        has_contradicted: Annotated[
            bool | None,
            QueryParameter(
                description=(
                    "true: only enrollments whose week has a completed session contradicted by telemetry; "
                    "false: only those without"
                )
            ),
        ] = None,
        *,
        paging: PageRequest,
    ) -> OrganizationWeeklyAdherence:
        """One row per active enrollment with its week's percentages, day grid and verified and contradicted
        sessions, lowest adherence first. Specialists see only the enrollments they assigned."""
        filters = OrganizationFilters(
            week=week,
            min_percent=min_percent,
            max_percent=max_percent,
            specialist_id=specialist_id,
            q=q,
            has_contradicted=has_contradicted,
            paging=paging,
        )
        return await adherence.organization_weekly(actor, filters)

    @read("/adherence/stats", "GetAdherenceStats", STAFF)
    async def stats(self, actor: CurrentActor, adherence: Adherence) -> AdherenceStats:
        """Active enrollments, and how many are compliant or noncompliant (adherence to date strictly
        below the organization's threshold), overall and per plan."""
        return await adherence.stats(actor)

    @read("/organizations/current/settings", "GetOrganizationSettings", STAFF)
    async def settings(self, actor: CurrentActor, adherence: Adherence) -> OrganizationSettings:
        """The caller's organization's adherence threshold and the evidence thresholds that decide
        `contradicted` sessions (docs/adherence.md). Staff only."""
        return await adherence.settings(actor)

    @put(
        "/organizations/current/settings",
        operation_id="UpdateOrganizationSettings",
        guards=[ADMIN],
        responses=problem_responses(401, 403, 404, 422),
    )
    async def update_settings(
        self, actor: CurrentActor, adherence: Adherence, data: JSONBody[OrganizationSettingsUpdate]
    ) -> OrganizationSettings:
        """Set the caller's organization's adherence threshold (1-100): an enrollment whose adherence % is
        strictly below it is flagged and alerts; and, when given, the evidence thresholds: the least share of
        a video the player must measure (0-100) and the difference in repetitions tolerated (0-1000) before
        a session is `contradicted`. Admins only; the change is audited."""
        return await adherence.update_settings(actor, data)

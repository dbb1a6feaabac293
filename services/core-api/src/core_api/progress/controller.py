"""HTTP routes of the progress reports: an enrollment's progress and analytics, and the organization
dashboard.

An enrollment's progress is for the organization's staff and for the patient it belongs to; its analytics
(the spec's "Specialist/Admin" view) for staff only, a patient is 403 there. Another patient's or
organization's enrollment is a 404 (row-level security does not show it). The organization dashboard is
for admins and specialists.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from contracts.progress import AnalyticsReport, OrganizationDashboard, ProgressReport
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter
from service_common.auth.actor import current_actor
from service_common.auth.guards import allow_roles
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses

from core_api.progress.service import ProgressService

# Serial ids stay below 2**53, the largest integer a JSON client holds exactly.
IdPath = Annotated[int, PathParameter(ge=1, le=2**53 - 1)]
FromParam = Annotated[
    date | None, QueryParameter(name="from", description="first day of the period (enrollments overlapping it)")
]
ToParam = Annotated[
    date | None, QueryParameter(name="to", description="last day of the period (enrollments overlapping it)")
]

PARTICIPANTS = allow_roles("admin", "specialist", "patient")
STAFF = allow_roles("admin", "specialist")
READ_ERRORS = problem_responses(401, 403, 404, 422)
DASHBOARD_ERRORS = problem_responses(401, 403, 422)


def _service(state: State) -> ProgressService:
    return ProgressService(state.pool)


class EnrollmentProgressController(Controller):
    path = "/v1/patient-treatment-plans/{enrollment_id:int}"
    tags = ["progress"]
    security = bearer_security()
    guards = [PARTICIPANTS]

    @get("/progress", operation_id="GetPlanProgress", responses=READ_ERRORS)
    async def progress(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        enrollment_id: IdPath,
    ) -> ProgressReport:
        """Sessions done, skipped and left, weeks and days, streaks, pain trend and averages of the
        enrollment, in the patient's time zone."""
        return await _service(state).progress(current_actor(request), enrollment_id)

    @get("/analytics", operation_id="GetPlanAnalytics", guards=[STAFF], responses=READ_ERRORS)
    async def analytics(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        enrollment_id: IdPath,
    ) -> AnalyticsReport:
        """Completions per session, per-exercise performance with its trend, and weekly adherence from the
        adherence engine: the clinical view, for staff (patients read ``/progress``)."""
        return await _service(state).analytics(current_actor(request), enrollment_id)


class OrganizationDashboardController(Controller):
    path = "/v1/dashboards/organization"
    tags = ["progress"]
    security = bearer_security()
    guards = [STAFF]

    @get("/", operation_id="GetOrganizationDashboard", responses=DASHBOARD_ERRORS)
    async def organization(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        from_date: FromParam = None,
        to_date: ToParam = None,
    ) -> OrganizationDashboard:
        """Pain reduction over completed plans, adherence over active plans, top exercises, plan outcomes and
        enrollments per treatment plan and service plan, for the caller's organization."""
        return await _service(state).organization(current_actor(request), from_date, to_date)


PROGRESS_CONTROLLERS = [EnrollmentProgressController, OrganizationDashboardController]

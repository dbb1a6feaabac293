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

from contracts.dashboard import OrganizationDashboard
from contracts.progress import AnalyticsReport, ProgressReport
from litestar import Controller
from litestar.params import PathParameter, QueryParameter
from service_common.auth.actor import CurrentActor

from core_api.dependencies import Progress
from core_api.routing import PARTICIPANTS, STAFF, listing, read

# Serial ids stay below 2**53, the largest integer a JSON client holds exactly.
IdPath = Annotated[int, PathParameter(ge=1, le=2**53 - 1)]
FromParam = Annotated[
    date | None, QueryParameter(name="from", description="first day of the period (enrollments overlapping it)")
]
ToParam = Annotated[
    date | None, QueryParameter(name="to", description="last day of the period (enrollments overlapping it)")
]


class ProgressController(Controller):
    path = "/v1"
    tags = ["progress"]

    @read("/patient-treatment-plans/{enrollment_id:int}/progress", "GetPlanProgress", PARTICIPANTS)
    async def progress(self, actor: CurrentActor, progress: Progress, enrollment_id: IdPath) -> ProgressReport:
        """Sessions done, skipped and left, weeks and days, streaks, pain trend and averages of the
        enrollment, in the patient's time zone."""
        return await progress.progress(actor, enrollment_id)

    @read("/patient-treatment-plans/{enrollment_id:int}/analytics", "GetPlanAnalytics", PARTICIPANTS, STAFF)
    async def analytics(self, actor: CurrentActor, progress: Progress, enrollment_id: IdPath) -> AnalyticsReport:
        """Completions per session, per-exercise performance with its trend, and weekly adherence from the
        adherence engine: the clinical view, for staff (patients read ``/progress``)."""
        return await progress.analytics(actor, enrollment_id)

    @listing("/dashboards/organization", "GetOrganizationDashboard", STAFF)
    async def organization(
        self, actor: CurrentActor, progress: Progress, from_date: FromParam = None, to_date: ToParam = None
    ) -> OrganizationDashboard:
        """Pain reduction over completed plans, adherence over active plans, top exercises, plan outcomes and
        enrollments per treatment plan and service plan, for the caller's organization."""
        return await progress.organization(actor, from_date, to_date)

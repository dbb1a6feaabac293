"""The adherence service: the report routes' work, each in the actor's transaction with its audit row.

It loads with ``loading``, arranges with ``reports`` and reads and stores the weekly history with ``history``;
the settings routes read and change the organization's adherence and evidence thresholds. The verified and
contradicted sessions are counted when a report is read, from the completions' evidence states now (they
arrive after the session). See docs/adherence.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
from contracts.adherence import (
    AdherenceStats,
    AdherenceTrend,
    EventStreamReport,
    OrganizationWeeklyAdherence,
    PlanAdherenceStats,
    WeeklyAdherenceReport,
)
from contracts.enrollments import EnrolledPlanRef
from contracts.organization_settings import OrganizationSettings, OrganizationSettingsUpdate
from psycopg import AsyncConnection
from service_common.auth.actor import Actor

from core_api.adherence import history, reports
from core_api.adherence import repository as repo
from core_api.adherence.loading import load, load_one
from core_api.audit import trail
from core_api.db.tenancy import PoolService, actor_transaction
from core_api.enrollments.weeks import local_date
from core_api.not_found import or_404
from core_api.paging import FIRST_PAGE, Paging
from core_api.time_zones import patient_zone


class OrganizationFilters(msgspec.Struct, frozen=True, kw_only=True):
    """The organization page's filters, already validated by the controller."""

    week: date | None = None
    min_percent: int | None = None
    max_percent: int | None = None
    specialist_id: int | None = None
    q: str | None = None
    has_contradicted: bool | None = None
    paging: Paging = FIRST_PAGE


class AdherenceService(PoolService):
    async def event_stream(self, actor: Actor, enrollment_id: int) -> EventStreamReport:
        async with actor_transaction(self._pool, actor) as conn:
            await trail.record_read(
                conn, actor, "adherence.read", "patient_treatment_plan", enrollment_id, enrollment_id=enrollment_id
            )
            enrollment = await load_one(conn, enrollment_id, datetime.now(UTC))
            evidence = await repo.evidence_states(conn, reports.completed_sessions(enrollment.slots))
            return reports.event_stream(enrollment, evidence)

    async def weekly(self, actor: Actor, enrollment_id: int, day: date | None) -> WeeklyAdherenceReport:
        async with actor_transaction(self._pool, actor) as conn:
            await trail.record_read(
                conn, actor, "adherence.read", "patient_treatment_plan", enrollment_id, enrollment_id=enrollment_id
            )
            enrollment = await load_one(conn, enrollment_id, datetime.now(UTC))
            evidence = await repo.evidence_states(conn, reports.completed_sessions(enrollment.slots))
            return reports.weekly(enrollment, day or local_date(enrollment.zone, enrollment.as_of), evidence)

    async def trend(self, actor: Actor, enrollment_id: int) -> AdherenceTrend:
        async with actor_transaction(self._pool, actor) as conn:
            await trail.record_read(
                conn, actor, "adherence.read", "patient_treatment_plan", enrollment_id, enrollment_id=enrollment_id
            )
            return await history.trend(conn, enrollment_id)

    async def settings(self, actor: Actor) -> OrganizationSettings:
        async with actor_transaction(self._pool, actor) as conn:
            return or_404(await repo.read_settings(conn), "the organization does not exist")

    async def update_settings(self, actor: Actor, data: OrganizationSettingsUpdate) -> OrganizationSettings:
        """Set the organization's adherence threshold and, when given, its evidence thresholds, with an
        audit row of the change."""
        async with actor_transaction(self._pool, actor) as conn:
            before = or_404(await repo.lock_settings(conn), "the organization does not exist")
            after = or_404(await repo.update_settings(conn, data), "the organization does not exist")
            await trail.record(
                conn,
                actor,
                "organization.settings_updated",
                "organization",
                actor.organization_id,
                before=before,
                after=after,
            )
        return after

    async def organization_weekly(self, actor: Actor, filters: OrganizationFilters) -> OrganizationWeeklyAdherence:
        """The page read from weekly_adherence_reports; rows it needs that are missing or stale are
        computed and stored first, in the same transaction (docs/adherence.md)."""
        as_of = datetime.now(UTC)
        async with actor_transaction(self._pool, actor) as conn:
            settings = or_404(await repo.organization_settings(conn), "the organization does not exist")
            week = filters.week or local_date(patient_zone(settings.time_zone), as_of)
            visible, specialist_id = await self._specialist_scope(conn, actor, filters.specialist_id)
            page = repo.StoredWeekPage(total=0, rows=[], stale=[])
            if visible:
                query = repo.WeekQuery(
                    week=week, specialist_id=specialist_id, q=filters.q, has_contradicted=filters.has_contradicted
                )
                page = await _read_week(conn, query, filters, as_of)
                if page.stale:
                    await history.store_weeks(conn, query.week, page.stale, as_of)
                    page = await _read_week(conn, query, filters, as_of)
        threshold = settings.adherence_threshold_percent
        return OrganizationWeeklyAdherence(
            week=week,
            threshold_percent=threshold,
            rows=[reports.organization_row(stored, threshold) for stored in page.rows],
            total=page.total,
            page=filters.paging.page,
            limit=filters.paging.limit,
            total_pages=filters.paging.pages(page.total),
        )

    async def stats(self, actor: Actor) -> AdherenceStats:
        as_of = datetime.now(UTC)
        async with actor_transaction(self._pool, actor) as conn:
            settings = or_404(await repo.organization_settings(conn), "the organization does not exist")
            enrollments = await load(conn, await self._active(conn, actor), as_of)
        plans: dict[str, tuple[EnrolledPlanRef, list[bool]]] = {}
        for enrollment in enrollments:
            row = enrollment.row
            ref = EnrolledPlanRef(id=row.treatment_plan_id, name=row.plan_name, type=row.plan_type)
            plans.setdefault(str(row.treatment_plan_id), (ref, []))[1].append(enrollment.below_threshold)
        flags = [enrollment.below_threshold for enrollment in enrollments]
        return AdherenceStats(
            threshold_percent=settings.adherence_threshold_percent,
            active=len(flags),
            compliant=flags.count(False),
            noncompliant=flags.count(True),
            plans=[
                PlanAdherenceStats(
                    treatment_plan=ref, active=len(below), compliant=below.count(False), noncompliant=below.count(True)
                )
                for ref, below in sorted(plans.values(), key=lambda item: (item[0].name, str(item[0].id)))
            ],
        )

    async def _active(self, conn: AsyncConnection, actor: Actor) -> list[repo.EnrollmentRow]:
        """The organization's active enrollments the actor may list."""
        visible, specialist_id = await self._specialist_scope(conn, actor, None)
        if not visible:
            return []
        return await repo.enrollments(conn, active_only=True, specialist_id=specialist_id)

    async def _specialist_scope(
        self, conn: AsyncConnection, actor: Actor, specialist_id: int | None
    ) -> tuple[bool, int | None]:
        """Whose enrollments the actor may list: a specialist only those they assigned (nothing when
        asking for another specialist's), an admin all or the requested specialist's."""
        if actor.role != "specialist":
            return True, specialist_id
        own = await repo.specialist_of_user(conn, actor.user_id)
        if own is None or (specialist_id is not None and specialist_id != own):
            return False, None
        return True, own


async def _read_week(
    conn: AsyncConnection, query: repo.WeekQuery, filters: OrganizationFilters, as_of: datetime
) -> repo.StoredWeekPage:
    return await repo.organization_week(
        conn,
        query,
        min_percent=filters.min_percent,
        max_percent=filters.max_percent,
        limit=filters.paging.limit,
        offset=filters.paging.offset,
        now=as_of,
    )

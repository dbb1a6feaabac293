"""The rules of the reference data the clinical flows refer to.

Organization scope is row-level security's job: a row of another organization is simply not found (404,
never 403). What RLS cannot say this service checks before it writes: that referenced rows are usable by
the caller's organization (foreign keys are checked below RLS, so another organization's specialty would
pass them), that a linked user has the right role, that a time zone exists, and that only platform
administrators create or change global rows. Every mutation writes its audit row in its own transaction.
"""

from __future__ import annotations

import zoneinfo
from datetime import date
from typing import Any
from uuid import UUID

import msgspec
from contracts.problems import FieldError
from contracts.reference import (
    Exercise,
    ExerciseCreate,
    ExerciseList,
    ExerciseUpdate,
    FormTemplate,
    FormTemplateCreate,
    FormTemplateList,
    Patient,
    PatientCreate,
    PatientDetail,
    PatientList,
    PatientServicePlan,
    PatientServicePlanCreate,
    PatientServicePlanList,
    PatientUpdate,
    ServicePlan,
    ServicePlanCreate,
    ServicePlanList,
    Specialist,
    SpecialistCreate,
    SpecialistList,
    Specialty,
    SpecialtyCreate,
    SpecialtyList,
    User,
    UserCreate,
)
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth.actor import Actor
from service_common.errors import ForbiddenError, NotFoundError, ServiceUnavailableError, UnprocessableError

from core_api.audit import trail
from core_api.db.tenancy import actor_transaction
from core_api.library import repository as repo
from core_api.paging import offset, total_pages
from core_api.telemetry_tokens import TelemetryTokenIssuer

# Read once: the zone database does not change while the process runs, and listing it reads the disk.
TIME_ZONES = frozenset(zoneinfo.available_timezones())
# Nobody alive was born before this; an earlier date is a typing error.
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class Paging(msgspec.Struct, frozen=True):
    """A validated page request."""

    page: int
    limit: int

    def params(self, **filters: Any) -> dict[str, Any]:
        return {**filters, "limit": self.limit, "offset": offset(self.page, self.limit)}

    def pages(self, total: int) -> int:
        return total_pages(total, self.limit)


def _organization_for(actor: Actor, is_global: bool, what: str) -> int | None:
    """The ``organization_id`` a new row gets: the caller's, or none for a platform admin's global row."""
    if not is_global:
        return actor.organization_id
    if not actor.platform_admin:
        raise ForbiddenError(f"only platform administrators create global {what}")
    return None


def _check_time_zone(time_zone: str) -> None:
    if time_zone not in TIME_ZONES:
        raise UnprocessableError(
            f"{time_zone!r} is not an IANA time zone",
            errors=[FieldError("time_zone", "not a time zone of the IANA database, e.g. Europe/Madrid")],
        )


def _check_date_of_birth(born: date | None) -> None:
    if born is not None and not EARLIEST_BIRTH_DATE <= born <= date.today():
        raise UnprocessableError(
            "the date of birth is not plausible",
            errors=[FieldError("date_of_birth", "must be between 1900-01-01 and today")],
        )


async def _check_user(conn: AsyncConnection, user_id: int | None, role: str) -> None:
    if user_id is not None and not await repo.user_has_role(conn, user_id, role):
        raise UnprocessableError(
            f"user {user_id} is not a {role} of this organization",
            errors=[FieldError("user_id", f"no user with the role {role} in this organization")],
        )


class ReferenceService:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection], issuer: TelemetryTokenIssuer) -> None:
        self._pool = pool
        self._issuer = issuer

    # Users ----------------------------------------------------------------------------------------------

    async def create_user(self, actor: Actor, data: UserCreate) -> User:
        values = msgspec.structs.asdict(data) | {"organization_id": actor.organization_id}
        async with actor_transaction(self._pool, actor) as conn:
            user = await repo.insert_user(conn, values)
            await trail.record(conn, actor, "user.created", "user", user.id, after=user)
        return user

    async def get_user(self, actor: Actor, user_id: int) -> User:
        async with actor_transaction(self._pool, actor) as conn:
            user = await repo.get_user(conn, user_id)
        if user is None:
            raise NotFoundError(f"user {user_id} does not exist")
        return user

    # Specialties ----------------------------------------------------------------------------------------

    async def list_specialties(self, actor: Actor, paging: Paging, q: str | None) -> SpecialtyList:
        async with actor_transaction(self._pool, actor) as conn:
            items, total = await repo.list_specialties(conn, paging.params(q=q))
        return SpecialtyList(
            specialties=items, total=total, page=paging.page, limit=paging.limit, total_pages=paging.pages(total)
        )

    async def get_specialty(self, actor: Actor, specialty_id: int) -> Specialty:
        async with actor_transaction(self._pool, actor) as conn:
            specialty = await repo.get_specialty(conn, specialty_id)
        if specialty is None:
            raise NotFoundError(f"specialty {specialty_id} does not exist")
        return specialty

    async def create_specialty(self, actor: Actor, data: SpecialtyCreate) -> Specialty:
        organization_id = _organization_for(actor, data.is_global, "specialties")
        async with actor_transaction(self._pool, actor) as conn:
            specialty = await repo.insert_specialty(conn, organization_id, data.name)
            await trail.record(conn, actor, "specialty.created", "specialty", specialty.id, after=specialty)
        return specialty

    # Specialists ----------------------------------------------------------------------------------------

    async def list_specialists(self, actor: Actor, paging: Paging, specialty_id: int | None) -> SpecialistList:
        async with actor_transaction(self._pool, actor) as conn:
            items, total = await repo.list_specialists(conn, paging.params(specialty_id=specialty_id))
        return SpecialistList(
            specialists=items, total=total, page=paging.page, limit=paging.limit, total_pages=paging.pages(total)
        )

    async def get_specialist(self, actor: Actor, specialist_id: int) -> Specialist:
        async with actor_transaction(self._pool, actor) as conn:
            specialist = await repo.get_specialist(conn, specialist_id)
        if specialist is None:
            raise NotFoundError(f"specialist {specialist_id} does not exist")
        return specialist

    async def create_specialist(self, actor: Actor, data: SpecialistCreate) -> Specialist:
        values = msgspec.structs.asdict(data) | {"organization_id": actor.organization_id}
        async with actor_transaction(self._pool, actor) as conn:
            errors: list[FieldError] = []
            if not await repo.specialty_usable(conn, data.specialty_id):
                errors.append(FieldError("specialty_id", "no such specialty in this organization"))
            if data.user_id is not None and not await repo.user_has_role(conn, data.user_id, "specialist"):
                errors.append(FieldError("user_id", "no user with the role specialist in this organization"))
            if errors:
                raise UnprocessableError(
                    "the specialist refers to records this organization does not have", errors=errors
                )
            specialist_id = await repo.insert_specialist(conn, values)
            specialist = await repo.get_specialist(conn, specialist_id)
            assert specialist is not None
            await trail.record(conn, actor, "specialist.created", "specialist", specialist_id, after=specialist)
        return specialist

    # Patients -------------------------------------------------------------------------------------------

    async def list_patients(self, actor: Actor, paging: Paging, q: str | None) -> PatientList:
        async with actor_transaction(self._pool, actor) as conn:
            items, total = await repo.list_patients(conn, paging.params(q=q))
            await trail.record_read(conn, actor, "patient.list", "organization", actor.organization_id)
        return PatientList(
            patients=items, total=total, page=paging.page, limit=paging.limit, total_pages=paging.pages(total)
        )

    async def get_patient(self, actor: Actor, patient_id: int) -> PatientDetail:
        """The patient with their telemetry actor hash, so that staff can read the patient's telemetry
        views and pose sessions. A patient's transaction sees only their own row: another patient's id
        (and so their hash) is not found."""
        try:
            actor_hash: str | None = self._issuer.keyed_hash("patient", patient_id)
        except ServiceUnavailableError:
            # Without the hash key there is no telemetry to read; the patient record stays readable.
            actor_hash = None
        async with actor_transaction(self._pool, actor) as conn:
            patient = await repo.get_patient(conn, patient_id)
            if patient is None:
                raise NotFoundError(f"patient {patient_id} does not exist")
            await trail.record_read(conn, actor, "patient.read", "patient", patient_id, patient_id=patient_id)
        return PatientDetail(**msgspec.structs.asdict(patient), telemetry_actor_hash=actor_hash)

    async def create_patient(self, actor: Actor, data: PatientCreate) -> Patient:
        _check_time_zone(data.time_zone)
        _check_date_of_birth(data.date_of_birth)
        values = msgspec.structs.asdict(data) | {"organization_id": actor.organization_id}
        async with actor_transaction(self._pool, actor) as conn:
            await _check_user(conn, data.user_id, "patient")
            patient = await repo.insert_patient(conn, values)
            await trail.record(conn, actor, "patient.created", "patient", patient.id, after=patient)
        return patient

    async def update_patient(self, actor: Actor, patient_id: int, data: PatientUpdate) -> Patient:
        changes = _set_fields(data)
        if "time_zone" in changes:
            _check_time_zone(changes["time_zone"])
        if "date_of_birth" in changes:
            _check_date_of_birth(changes["date_of_birth"])
        async with actor_transaction(self._pool, actor) as conn:
            before = await repo.lock_patient(conn, patient_id)
            if before is None:
                raise NotFoundError(f"patient {patient_id} does not exist")
            if changes.get("user_id") not in (None, before.user_id):
                await _check_user(conn, changes["user_id"], "patient")
            patient = await repo.update_patient(conn, msgspec.structs.asdict(before) | changes)
            await trail.record(conn, actor, "patient.updated", "patient", patient_id, before=before, after=patient)
        return patient

    # Exercises ------------------------------------------------------------------------------------------

    async def list_exercises(
        self, actor: Actor, paging: Paging, *, published: bool | None, difficulty: str | None, q: str | None
    ) -> ExerciseList:
        async with actor_transaction(self._pool, actor) as conn:
            items, total = await repo.list_exercises(
                conn, paging.params(published=published, difficulty=difficulty, q=q)
            )
        return ExerciseList(
            exercises=items, total=total, page=paging.page, limit=paging.limit, total_pages=paging.pages(total)
        )

    async def get_exercise(self, actor: Actor, exercise_id: UUID) -> Exercise:
        async with actor_transaction(self._pool, actor) as conn:
            exercise = await repo.get_exercise(conn, exercise_id)
        if exercise is None:
            raise NotFoundError(f"exercise {exercise_id} does not exist")
        return exercise

    async def create_exercise(self, actor: Actor, data: ExerciseCreate) -> Exercise:
        values = msgspec.structs.asdict(data)
        values["organization_id"] = _organization_for(actor, values.pop("is_global"), "exercises")
        async with actor_transaction(self._pool, actor) as conn:
            exercise = await repo.insert_exercise(conn, values)
            await trail.record(conn, actor, "exercise.created", "exercise", exercise.id, after=exercise)
        return exercise

    async def update_exercise(self, actor: Actor, exercise_id: UUID, data: ExerciseUpdate) -> Exercise:
        async with actor_transaction(self._pool, actor) as conn:
            before = await repo.lock_exercise(conn, exercise_id)
            if before is None:
                if await repo.get_exercise(conn, exercise_id) is not None:
                    raise ForbiddenError("global exercises can only be changed by platform administrators")
                raise NotFoundError(f"exercise {exercise_id} does not exist")
            exercise = await repo.update_exercise(conn, msgspec.structs.asdict(before) | _set_fields(data))
            await trail.record(conn, actor, "exercise.updated", "exercise", exercise_id, before=before, after=exercise)
        return exercise

    # Form templates -------------------------------------------------------------------------------------

    async def list_form_templates(self, actor: Actor, paging: Paging, kind: str | None) -> FormTemplateList:
        async with actor_transaction(self._pool, actor) as conn:
            items, total = await repo.list_form_templates(conn, paging.params(kind=kind))
        return FormTemplateList(
            form_templates=items, total=total, page=paging.page, limit=paging.limit, total_pages=paging.pages(total)
        )

    async def get_form_template(self, actor: Actor, form_template_id: int) -> FormTemplate:
        async with actor_transaction(self._pool, actor) as conn:
            template = await repo.get_form_template(conn, form_template_id)
        if template is None:
            raise NotFoundError(f"form template {form_template_id} does not exist")
        return template

    async def create_form_template(self, actor: Actor, data: FormTemplateCreate) -> FormTemplate:
        values = msgspec.structs.asdict(data)
        values["organization_id"] = _organization_for(actor, values.pop("is_global"), "form templates")
        async with actor_transaction(self._pool, actor) as conn:
            template = await repo.insert_form_template(conn, values)
            await trail.record(conn, actor, "form_template.created", "form_template", template.id, after=template)
        return template

    # Service plans --------------------------------------------------------------------------------------

    async def list_service_plans(self, actor: Actor, paging: Paging) -> ServicePlanList:
        async with actor_transaction(self._pool, actor) as conn:
            items, total = await repo.list_service_plans(conn, paging.params())
        return ServicePlanList(
            service_plans=items, total=total, page=paging.page, limit=paging.limit, total_pages=paging.pages(total)
        )

    async def get_service_plan(self, actor: Actor, service_plan_id: int) -> ServicePlan:
        async with actor_transaction(self._pool, actor) as conn:
            plan = await repo.get_service_plan(conn, service_plan_id)
        if plan is None:
            raise NotFoundError(f"service plan {service_plan_id} does not exist")
        return plan

    async def create_service_plan(self, actor: Actor, data: ServicePlanCreate) -> ServicePlan:
        if (data.price_cents is None) != (data.currency is None):
            missing = "currency" if data.currency is None else "price_cents"
            raise UnprocessableError(
                "A price needs both an amount and a currency.",
                errors=[FieldError(field=missing, message="give price_cents and currency together")],
            )
        values = msgspec.structs.asdict(data) | {"organization_id": actor.organization_id}
        async with actor_transaction(self._pool, actor) as conn:
            plan = await repo.insert_service_plan(conn, values)
            await trail.record(conn, actor, "service_plan.created", "service_plan", plan.id, after=plan)
        return plan

    async def list_patient_service_plans(self, actor: Actor, patient_id: int, paging: Paging) -> PatientServicePlanList:
        async with actor_transaction(self._pool, actor) as conn:
            if await repo.get_patient(conn, patient_id) is None:
                raise NotFoundError(f"patient {patient_id} does not exist")
            items, total = await repo.list_patient_service_plans(conn, paging.params(patient_id=patient_id))
            await trail.record_read(
                conn, actor, "patient_service_plan.read", "patient", patient_id, patient_id=patient_id
            )
        return PatientServicePlanList(
            patient_service_plans=items,
            total=total,
            page=paging.page,
            limit=paging.limit,
            total_pages=paging.pages(total),
        )

    async def get_patient_service_plan(self, actor: Actor, patient_service_plan_id: int) -> PatientServicePlan:
        async with actor_transaction(self._pool, actor) as conn:
            held = await repo.get_patient_service_plan(conn, patient_service_plan_id)
            if held is None:
                raise NotFoundError(f"patient service plan {patient_service_plan_id} does not exist")
            await trail.record_read(
                conn,
                actor,
                "patient_service_plan.read",
                "patient_service_plan",
                patient_service_plan_id,
                patient_id=held.patient_id,
            )
        return held

    async def create_patient_service_plan(
        self, actor: Actor, patient_id: int, data: PatientServicePlanCreate
    ) -> PatientServicePlan:
        if data.ends_on is not None and data.ends_on < data.starts_on:
            raise UnprocessableError(
                "a service plan cannot end before it starts",
                errors=[FieldError("ends_on", "must be on or after starts_on")],
            )
        values = msgspec.structs.asdict(data) | {
            "organization_id": actor.organization_id,
            "patient_id": patient_id,
        }
        async with actor_transaction(self._pool, actor) as conn:
            if await repo.get_patient(conn, patient_id) is None:
                raise NotFoundError(f"patient {patient_id} does not exist")
            if not await repo.service_plan_usable(conn, data.service_plan_id):
                raise UnprocessableError(
                    f"service plan {data.service_plan_id} does not exist",
                    errors=[FieldError("service_plan_id", "no such service plan in this organization")],
                )
            held_id = await repo.insert_patient_service_plan(conn, values)
            held = await repo.get_patient_service_plan(conn, held_id)
            assert held is not None
            await trail.record(conn, actor, "patient_service_plan.created", "patient_service_plan", held_id, after=held)
        return held


def _set_fields(update: msgspec.Struct) -> dict[str, Any]:
    """The fields a partial update sets (``None`` included: it clears the field)."""
    return {name: value for name, value in msgspec.structs.asdict(update).items() if value is not msgspec.UNSET}

"""The rules of the reference data the clinical flows refer to.

Organization scope is row-level security's job: a row of another organization is simply not found (404,
never 403). What RLS cannot say this service checks before it writes: that referenced rows are usable by
the caller's organization (foreign keys are checked below RLS, so another organization's specialty would
pass them), that a linked user has the right role, that a time zone exists, and that only platform
administrators create or change global rows. Every mutation writes its audit row in its own transaction.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from contracts.exercises import Exercise, ExerciseCreate, ExerciseList, ExerciseUpdate
from contracts.form_templates import FormTemplate, FormTemplateCreate, FormTemplateList
from contracts.patients import Patient, PatientCreate, PatientDetail, PatientList, PatientUpdate
from contracts.problems import FieldError
from contracts.service_plans import (
    PatientServicePlan,
    PatientServicePlanCreate,
    PatientServicePlanList,
    ServicePlan,
    ServicePlanCreate,
    ServicePlanList,
)
from contracts.users import (
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
from core_api.db.rows import Params
from core_api.db.tenancy import actor_transaction
from core_api.library import repository as repo
from core_api.not_found import or_404
from core_api.paging import L, Paging
from core_api.telemetry_tokens import TelemetryTokenIssuer

R = TypeVar("R", bound=repo.Identified)

# Read once: the zone database does not change while the process runs, and listing it reads the disk.
TIME_ZONES = frozenset(zoneinfo.available_timezones())
# Nobody alive was born before this; an earlier date is a typing error.
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


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
        return await self._create(actor, repo.USERS, values)

    async def get_user(self, actor: Actor, user_id: int) -> User:
        return await self._get(actor, repo.USERS, user_id)

    # Specialties ----------------------------------------------------------------------------------------

    async def list_specialties(self, actor: Actor, paging: Paging, q: str | None) -> SpecialtyList:
        return await self._list(actor, repo.SPECIALTIES.page, paging, SpecialtyList, q=q)

    async def get_specialty(self, actor: Actor, specialty_id: int) -> Specialty:
        return await self._get(actor, repo.SPECIALTIES, specialty_id)

    async def create_specialty(self, actor: Actor, data: SpecialtyCreate) -> Specialty:
        organization_id = _organization_for(actor, data.is_global, "specialties")
        return await self._create(actor, repo.SPECIALTIES, {"organization_id": organization_id, "name": data.name})

    # Specialists ----------------------------------------------------------------------------------------

    async def list_specialists(self, actor: Actor, paging: Paging, specialty_id: int | None) -> SpecialistList:
        return await self._list(actor, repo.list_specialists, paging, SpecialistList, specialty_id=specialty_id)

    async def get_specialist(self, actor: Actor, specialist_id: int) -> Specialist:
        async with actor_transaction(self._pool, actor) as conn:
            specialist = await repo.get_specialist(conn, specialist_id)
        return or_404(specialist, f"specialist {specialist_id} does not exist")

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
            items, total = await repo.PATIENTS.page(conn, paging.params(q=q))
            await trail.record_read(conn, actor, "patient.list", "organization", actor.organization_id)
        return paging.listing(PatientList, items, total)

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
            patient = or_404(await repo.PATIENTS.get(conn, patient_id), f"patient {patient_id} does not exist")
            await trail.record_read(conn, actor, "patient.read", "patient", patient_id, patient_id=patient_id)
        return PatientDetail(**msgspec.structs.asdict(patient), telemetry_actor_hash=actor_hash)

    async def create_patient(self, actor: Actor, data: PatientCreate) -> Patient:
        _check_time_zone(data.time_zone)
        _check_date_of_birth(data.date_of_birth)
        values = msgspec.structs.asdict(data) | {"organization_id": actor.organization_id}
        async with actor_transaction(self._pool, actor) as conn:
            await _check_user(conn, data.user_id, "patient")
            patient = await repo.PATIENTS.insert(conn, values)
            await trail.record(conn, actor, "patient.created", "patient", patient.id, after=patient)
        return patient

    async def update_patient(self, actor: Actor, patient_id: int, data: PatientUpdate) -> Patient:
        changes = _set_fields(data)
        if "time_zone" in changes:
            _check_time_zone(changes["time_zone"])
        if "date_of_birth" in changes:
            _check_date_of_birth(changes["date_of_birth"])
        async with actor_transaction(self._pool, actor) as conn:
            before = or_404(await repo.PATIENTS.lock(conn, patient_id), f"patient {patient_id} does not exist")
            if changes.get("user_id") not in (None, before.user_id):
                await _check_user(conn, changes["user_id"], "patient")
            patient = await repo.PATIENTS.update(conn, msgspec.structs.asdict(before) | changes)
            await trail.record(conn, actor, "patient.updated", "patient", patient_id, before=before, after=patient)
        return patient

    # Exercises ------------------------------------------------------------------------------------------

    async def list_exercises(
        self, actor: Actor, paging: Paging, *, published: bool | None, difficulty: str | None, q: str | None
    ) -> ExerciseList:
        filters = {"published": published, "difficulty": difficulty, "q": q}
        return await self._list(actor, repo.EXERCISES.page, paging, ExerciseList, **filters)

    async def get_exercise(self, actor: Actor, exercise_id: UUID) -> Exercise:
        return await self._get(actor, repo.EXERCISES, exercise_id)

    async def create_exercise(self, actor: Actor, data: ExerciseCreate) -> Exercise:
        values = msgspec.structs.asdict(data)
        values["organization_id"] = _organization_for(actor, values.pop("is_global"), "exercises")
        return await self._create(actor, repo.EXERCISES, values)

    async def update_exercise(self, actor: Actor, exercise_id: UUID, data: ExerciseUpdate) -> Exercise:
        async with actor_transaction(self._pool, actor) as conn:
            before = await repo.EXERCISES.lock(conn, exercise_id)
            if before is None:
                if await repo.EXERCISES.get(conn, exercise_id) is not None:
                    raise ForbiddenError("global exercises can only be changed by platform administrators")
                raise NotFoundError(f"exercise {exercise_id} does not exist")
            exercise = await repo.EXERCISES.update(conn, msgspec.structs.asdict(before) | _set_fields(data))
            await trail.record(conn, actor, "exercise.updated", "exercise", exercise_id, before=before, after=exercise)
        return exercise

    # Form templates -------------------------------------------------------------------------------------

    async def list_form_templates(self, actor: Actor, paging: Paging, kind: str | None) -> FormTemplateList:
        return await self._list(actor, repo.FORM_TEMPLATES.page, paging, FormTemplateList, kind=kind)

    async def get_form_template(self, actor: Actor, form_template_id: int) -> FormTemplate:
        return await self._get(actor, repo.FORM_TEMPLATES, form_template_id)

    async def create_form_template(self, actor: Actor, data: FormTemplateCreate) -> FormTemplate:
        values = msgspec.structs.asdict(data)
        values["organization_id"] = _organization_for(actor, values.pop("is_global"), "form templates")
        values["schema"] = repo.stored_schema(values["schema"])
        return await self._create(actor, repo.FORM_TEMPLATES, values)

    # Service plans --------------------------------------------------------------------------------------

    async def list_service_plans(self, actor: Actor, paging: Paging) -> ServicePlanList:
        return await self._list(actor, repo.SERVICE_PLANS.page, paging, ServicePlanList)

    async def get_service_plan(self, actor: Actor, service_plan_id: int) -> ServicePlan:
        return await self._get(actor, repo.SERVICE_PLANS, service_plan_id)

    async def create_service_plan(self, actor: Actor, data: ServicePlanCreate) -> ServicePlan:
        if (data.price_cents is None) != (data.currency is None):
            missing = "currency" if data.currency is None else "price_cents"
            raise UnprocessableError(
                "A price needs both an amount and a currency.",
                errors=[FieldError(field=missing, message="give price_cents and currency together")],
            )
        values = msgspec.structs.asdict(data) | {"organization_id": actor.organization_id}
        return await self._create(actor, repo.SERVICE_PLANS, values)

    async def list_patient_service_plans(self, actor: Actor, patient_id: int, paging: Paging) -> PatientServicePlanList:
        async with actor_transaction(self._pool, actor) as conn:
            if await repo.PATIENTS.get(conn, patient_id) is None:
                raise NotFoundError(f"patient {patient_id} does not exist")
            items, total = await repo.list_patient_service_plans(conn, paging.params(patient_id=patient_id))
            await trail.record_read(
                conn, actor, "patient_service_plan.read", "patient", patient_id, patient_id=patient_id
            )
        return paging.listing(PatientServicePlanList, items, total)

    async def get_patient_service_plan(self, actor: Actor, patient_service_plan_id: int) -> PatientServicePlan:
        async with actor_transaction(self._pool, actor) as conn:
            held = or_404(
                await repo.get_patient_service_plan(conn, patient_service_plan_id),
                f"patient service plan {patient_service_plan_id} does not exist",
            )
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
            if await repo.PATIENTS.get(conn, patient_id) is None:
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

    # What most kinds share ---------------------------------------------------------------------------------

    async def _list(
        self,
        actor: Actor,
        page: Callable[[AsyncConnection, Params], Awaitable[tuple[list[Any], int]]],
        paging: Paging,
        list_type: type[L],
        **filters: Any,
    ) -> L:
        async with actor_transaction(self._pool, actor) as conn:
            items, total = await page(conn, paging.params(**filters))
        return paging.listing(list_type, items, total)

    async def _get(self, actor: Actor, records: repo.Records[R], record_id: int | UUID) -> R:
        async with actor_transaction(self._pool, actor) as conn:
            record = await records.get(conn, record_id)
        return or_404(record, f"{records.entity} {record_id} does not exist")

    async def _create(self, actor: Actor, records: repo.Records[R], values: dict[str, Any]) -> R:
        """Insert a record with the audit row ``<kind>.created`` of it."""
        async with actor_transaction(self._pool, actor) as conn:
            record = await records.insert(conn, values)
            await trail.record(conn, actor, f"{records.kind}.created", records.kind, record.id, after=record)
        return record


def _set_fields(update: msgspec.Struct) -> dict[str, Any]:
    """The fields a partial update sets (``None`` included: it clears the field)."""
    return {name: value for name, value in msgspec.structs.asdict(update).items() if value is not msgspec.UNSET}

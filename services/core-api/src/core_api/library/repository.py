"""SQL for the reference data. Only queries here, and the translation of database errors into domain
errors; the rules live in the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from contracts.problems import FieldError
from contracts.reference import (
    Exercise,
    FormTemplate,
    Patient,
    PatientServicePlan,
    ServicePlan,
    Specialist,
    Specialty,
    User,
)
from psycopg import AsyncConnection, DataError
from psycopg.errors import ForeignKeyViolation, UniqueViolation
from psycopg.types.json import Jsonb
from service_common.errors import ConflictError, UnprocessableError

from core_api.db.queries import load_queries
from core_api.db.rows import Params, fetch_json, fetch_one, fetch_value

QUERIES = load_queries(__package__ or "core_api.library")

T = TypeVar("T")

_SPECIALTIES = msgspec.json.Decoder(list[Specialty])
_SPECIALISTS = msgspec.json.Decoder(list[Specialist])
_PATIENTS = msgspec.json.Decoder(list[Patient])
_EXERCISES = msgspec.json.Decoder(list[Exercise])
_FORM_TEMPLATES = msgspec.json.Decoder(list[FormTemplate])
_SERVICE_PLANS = msgspec.json.Decoder(list[ServicePlan])
_PATIENT_SERVICE_PLANS = msgspec.json.Decoder(list[PatientServicePlan])


def _constraint_field(table: str | None, constraint: str | None) -> str:
    """The column a constraint named the PostgreSQL way (``specialists_user_id_key``) is about."""
    name = (constraint or "").removeprefix(f"{table}_")
    for suffix in ("_fkey", "_key"):
        name = name.removesuffix(suffix)
    return name or "body"


@asynccontextmanager
async def write_errors(entity: str) -> AsyncIterator[None]:
    """Turn a unique violation into a 409, a foreign-key violation or unstorable text into a 422.

    The service checks references before it writes; these cover what changes between that check and
    the write (a row deleted, a duplicate inserted by a concurrent request).
    """
    try:
        yield
    except UniqueViolation as exc:
        field = _constraint_field(exc.diag.table_name, exc.diag.constraint_name)
        raise ConflictError(
            f"another {entity} already has this {field}",
            errors=[FieldError(field, "already taken")],
        ) from None
    except ForeignKeyViolation as exc:
        field = _constraint_field(exc.diag.table_name, exc.diag.constraint_name)
        raise UnprocessableError(
            f"the {entity} refers to a record that does not exist",
            errors=[FieldError(field, "no such record in this organization")],
        ) from None
    except DataError:
        # The contracts bound every value; what is left is text PostgreSQL cannot store at all: a NUL
        # character, in a string or a JSON document.
        raise UnprocessableError(
            f"the {entity} contains text that cannot be stored (a NUL character)",
            errors=[FieldError("body", "text must not contain NUL characters")],
        ) from None


async def _page(
    conn: AsyncConnection, query: bytes, params: Params, decoder: msgspec.json.Decoder[list[T]]
) -> tuple[list[T], int]:
    """One page of a list query (see queries.sql) and the number of rows matching in all."""
    row = await (await conn.execute(query, params)).fetchone()
    assert row is not None
    total, items = row
    return decoder.decode(items), int(total)


async def _exists(conn: AsyncConnection, query: bytes, params: Params) -> bool:
    return bool(await fetch_value(conn, query, params))


# Users --------------------------------------------------------------------------------------------------


async def insert_user(conn: AsyncConnection, values: Params) -> User:
    async with write_errors("user"):
        user = await fetch_one(conn, QUERIES.insert_user, values, User)
    assert user is not None
    return user


async def get_user(conn: AsyncConnection, user_id: int) -> User | None:
    return await fetch_one(conn, QUERIES.get_user, {"id": user_id}, User)


async def user_has_role(conn: AsyncConnection, user_id: int, role: str) -> bool:
    """Whether ``user_id`` is a user of the caller's organization with ``role``."""
    return await _exists(conn, QUERIES.user_has_role, {"id": user_id, "role": role})


# Specialties ----------------------------------------------------------------------------------------------


async def list_specialties(conn: AsyncConnection, params: Params) -> tuple[list[Specialty], int]:
    return await _page(conn, QUERIES.list_specialties, params, _SPECIALTIES)


async def get_specialty(conn: AsyncConnection, specialty_id: int) -> Specialty | None:
    return await fetch_one(conn, QUERIES.get_specialty, {"id": specialty_id}, Specialty)


async def insert_specialty(conn: AsyncConnection, organization_id: int | None, name: str) -> Specialty:
    async with write_errors("specialty"):
        specialty = await fetch_one(
            conn, QUERIES.insert_specialty, {"organization_id": organization_id, "name": name}, Specialty
        )
    assert specialty is not None
    return specialty


async def specialty_usable(conn: AsyncConnection, specialty_id: int) -> bool:
    """Whether the caller's organization may refer to the specialty: its own or a global one."""
    return await _exists(conn, QUERIES.specialty_usable, {"id": specialty_id})


# Specialists ----------------------------------------------------------------------------------------------


async def list_specialists(conn: AsyncConnection, params: Params) -> tuple[list[Specialist], int]:
    return await _page(conn, QUERIES.list_specialists, params, _SPECIALISTS)


async def get_specialist(conn: AsyncConnection, specialist_id: int) -> Specialist | None:
    return await fetch_json(conn, QUERIES.get_specialist, {"id": specialist_id}, Specialist)


async def insert_specialist(conn: AsyncConnection, values: Params) -> int:
    async with write_errors("specialist"):
        specialist_id: int = await fetch_value(conn, QUERIES.insert_specialist, values)
    return specialist_id


# Patients -------------------------------------------------------------------------------------------------


async def list_patients(conn: AsyncConnection, params: Params) -> tuple[list[Patient], int]:
    return await _page(conn, QUERIES.list_patients, params, _PATIENTS)


async def get_patient(conn: AsyncConnection, patient_id: int) -> Patient | None:
    return await fetch_one(conn, QUERIES.get_patient, {"id": patient_id}, Patient)


async def lock_patient(conn: AsyncConnection, patient_id: int) -> Patient | None:
    """The patient, locked until the transaction ends; ``None`` when the caller cannot see it."""
    return await fetch_one(conn, QUERIES.lock_patient, {"id": patient_id}, Patient)


async def insert_patient(conn: AsyncConnection, values: Params) -> Patient:
    async with write_errors("patient"):
        patient = await fetch_one(conn, QUERIES.insert_patient, values, Patient)
    assert patient is not None
    return patient


async def update_patient(conn: AsyncConnection, values: Params) -> Patient:
    async with write_errors("patient"):
        patient = await fetch_one(conn, QUERIES.update_patient, values, Patient)
    assert patient is not None
    return patient


# Exercises ------------------------------------------------------------------------------------------------


async def list_exercises(conn: AsyncConnection, params: Params) -> tuple[list[Exercise], int]:
    return await _page(conn, QUERIES.list_exercises, params, _EXERCISES)


async def get_exercise(conn: AsyncConnection, exercise_id: UUID) -> Exercise | None:
    return await fetch_one(conn, QUERIES.get_exercise, {"id": exercise_id}, Exercise)


async def lock_exercise(conn: AsyncConnection, exercise_id: UUID) -> Exercise | None:
    """The exercise, locked until the transaction ends; ``None`` when the caller cannot change it."""
    return await fetch_one(conn, QUERIES.lock_exercise, {"id": exercise_id}, Exercise)


async def insert_exercise(conn: AsyncConnection, values: Params) -> Exercise:
    async with write_errors("exercise"):
        exercise = await fetch_one(conn, QUERIES.insert_exercise, values, Exercise)
    assert exercise is not None
    return exercise


async def update_exercise(conn: AsyncConnection, values: Params) -> Exercise:
    async with write_errors("exercise"):
        exercise = await fetch_one(conn, QUERIES.update_exercise, values, Exercise)
    assert exercise is not None
    return exercise


# Form templates -------------------------------------------------------------------------------------------


async def list_form_templates(conn: AsyncConnection, params: Params) -> tuple[list[FormTemplate], int]:
    return await _page(conn, QUERIES.list_form_templates, params, _FORM_TEMPLATES)


async def get_form_template(conn: AsyncConnection, form_template_id: int) -> FormTemplate | None:
    return await fetch_one(conn, QUERIES.get_form_template, {"id": form_template_id}, FormTemplate)


async def insert_form_template(conn: AsyncConnection, values: dict[str, Any]) -> FormTemplate:
    async with write_errors("form template"):
        schema = Jsonb(msgspec.to_builtins(values["schema"]))
        template = await fetch_one(conn, QUERIES.insert_form_template, values | {"schema": schema}, FormTemplate)
    assert template is not None
    return template


# Service plans --------------------------------------------------------------------------------------------


async def list_service_plans(conn: AsyncConnection, params: Params) -> tuple[list[ServicePlan], int]:
    return await _page(conn, QUERIES.list_service_plans, params, _SERVICE_PLANS)


async def get_service_plan(conn: AsyncConnection, service_plan_id: int) -> ServicePlan | None:
    return await fetch_one(conn, QUERIES.get_service_plan, {"id": service_plan_id}, ServicePlan)


async def insert_service_plan(conn: AsyncConnection, values: Params) -> ServicePlan:
    async with write_errors("service plan"):
        plan = await fetch_one(conn, QUERIES.insert_service_plan, values, ServicePlan)
    assert plan is not None
    return plan


async def service_plan_usable(conn: AsyncConnection, service_plan_id: int) -> bool:
    return await _exists(conn, QUERIES.service_plan_usable, {"id": service_plan_id})


async def list_patient_service_plans(conn: AsyncConnection, params: Params) -> tuple[list[PatientServicePlan], int]:
    return await _page(conn, QUERIES.list_patient_service_plans, {"id": None} | dict(params), _PATIENT_SERVICE_PLANS)


async def get_patient_service_plan(conn: AsyncConnection, patient_service_plan_id: int) -> PatientServicePlan | None:
    items, _ = await _page(
        conn,
        QUERIES.list_patient_service_plans,
        {"patient_id": None, "id": patient_service_plan_id, "limit": 1, "offset": 0},
        _PATIENT_SERVICE_PLANS,
    )
    return items[0] if items else None


async def insert_patient_service_plan(conn: AsyncConnection, values: Params) -> int:
    async with write_errors("patient service plan"):
        plan_id: int = await fetch_value(conn, QUERIES.insert_patient_service_plan, values)
    return plan_id

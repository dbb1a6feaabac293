"""SQL for the reference data. Only queries here, and the translation of database errors into domain
errors; the rules live in the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

import msgspec
from contracts.exercises import Exercise
from contracts.form_templates import FormTemplate
from contracts.patients import Patient
from contracts.problems import FieldError
from contracts.service_plans import PatientServicePlan, ServicePlan
from contracts.users import Specialist, Specialty, User
from psycopg import AsyncConnection, DataError
from psycopg.errors import ForeignKeyViolation, UniqueViolation
from psycopg.types.json import Jsonb
from service_common.errors import ConflictError, UnprocessableError

from core_api.db.queries import load_queries
from core_api.db.rows import Params, fetch_json, fetch_one, fetch_value

QUERIES = load_queries(__package__ or "core_api.library")

T = TypeVar("T")


class Identified(Protocol):
    """A record with an id: what its audit row names."""

    @property
    def id(self) -> Any: ...


R = TypeVar("R", bound=Identified)

_SPECIALISTS = msgspec.json.Decoder(list[Specialist])
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


class Records(Generic[R]):
    """One kind of reference record: the Struct its rows convert to and its queries in queries.sql, named
    after it (``list_<plural>``, ``get_<name>``, ``lock_<name>``, ``insert_<name>``, ``update_<name>``;
    a kind has those its routes need)."""

    def __init__(self, kind: str, plural: str, struct: type[R]) -> None:
        self.kind = kind
        self.entity = kind.replace("_", " ")
        self._plural = plural
        self._struct = struct
        self._items = msgspec.json.Decoder(list[struct])  # type: ignore[valid-type]

    async def page(self, conn: AsyncConnection, params: Params) -> tuple[list[R], int]:
        return await _page(conn, QUERIES[f"list_{self._plural}"], params, self._items)

    async def get(self, conn: AsyncConnection, record_id: int | UUID) -> R | None:
        return await fetch_one(conn, QUERIES[f"get_{self.kind}"], {"id": record_id}, self._struct)

    async def lock(self, conn: AsyncConnection, record_id: int | UUID) -> R | None:
        """The record, locked until the transaction ends; ``None`` when the caller cannot change it."""
        return await fetch_one(conn, QUERIES[f"lock_{self.kind}"], {"id": record_id}, self._struct)

    async def insert(self, conn: AsyncConnection, values: Params) -> R:
        return await self._write("insert", conn, values)

    async def update(self, conn: AsyncConnection, values: Params) -> R:
        return await self._write("update", conn, values)

    async def _write(self, verb: str, conn: AsyncConnection, values: Params) -> R:
        async with write_errors(self.entity):
            record = await fetch_one(conn, QUERIES[f"{verb}_{self.kind}"], values, self._struct)
        assert record is not None
        return record


USERS = Records("user", "users", User)
SPECIALTIES = Records("specialty", "specialties", Specialty)
PATIENTS = Records("patient", "patients", Patient)
EXERCISES = Records("exercise", "exercises", Exercise)
FORM_TEMPLATES = Records("form_template", "form_templates", FormTemplate)
SERVICE_PLANS = Records("service_plan", "service_plans", ServicePlan)


async def user_has_role(conn: AsyncConnection, user_id: int, role: str) -> bool:
    """Whether ``user_id`` is a user of the caller's organization with ``role``."""
    return await _exists(conn, QUERIES.user_has_role, {"id": user_id, "role": role})


async def specialty_usable(conn: AsyncConnection, specialty_id: int) -> bool:
    """Whether the caller's organization may refer to the specialty: its own or a global one."""
    return await _exists(conn, QUERIES.specialty_usable, {"id": specialty_id})


async def service_plan_usable(conn: AsyncConnection, service_plan_id: int) -> bool:
    return await _exists(conn, QUERIES.service_plan_usable, {"id": service_plan_id})


# Specialists: read as JSON documents (with their specialty) ------------------------------------------------


async def list_specialists(conn: AsyncConnection, params: Params) -> tuple[list[Specialist], int]:
    return await _page(conn, QUERIES.list_specialists, params, _SPECIALISTS)


async def get_specialist(conn: AsyncConnection, specialist_id: int) -> Specialist | None:
    return await fetch_json(conn, QUERIES.get_specialist, {"id": specialist_id}, Specialist)


async def insert_specialist(conn: AsyncConnection, values: Params) -> int:
    async with write_errors("specialist"):
        specialist_id: int = await fetch_value(conn, QUERIES.insert_specialist, values)
    return specialist_id


# Form templates: the schema is stored as JSON ---------------------------------------------------------------


def stored_schema(schema: Any) -> Jsonb:
    """A form template's schema as the ``schema`` column takes it."""
    return Jsonb(msgspec.to_builtins(schema))


# Service plans patients hold ------------------------------------------------------------------------------


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

"""The rules of consent and telemetry tokens.

A patient grants and revokes their own consent; staff record a patient's decision only with the
patient's submitted consent form as evidence (``form_instance_id``). Every change is a new row (the
history is append-only) and an audit row, in one transaction. Submitting a consent form that answers
``biometric_consent`` records that decision too (the automation ``treatment_plan.assigned`` →
``require_form`` gives patients that form). A telemetry token carries the consent in force when it is
issued and lives at most 10 minutes, so a revocation stops collection within that time. See
docs/privacy.md.
"""

from __future__ import annotations

from typing import Any

import structlog
from contracts.consent import ConsentChange, ConsentKind, ConsentState, TelemetryToken
from contracts.problems import FieldError
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth import Actor
from service_common.errors import NotFoundError, UnprocessableError

from core_api import audit
from core_api.db.tenancy import actor_transaction
from core_api.domain.consent import repository as repo
from core_api.telemetry_tokens import TelemetryTokenIssuer

log = structlog.get_logger("consent")

BIOMETRIC_QUESTION = "biometric_consent"
"""The boolean question of a consent form whose answer is the patient's biometric consent."""


async def state(conn: AsyncConnection, patient_id: int) -> ConsentState:
    current = await repo.current(conn, patient_id)
    return ConsentState(
        patient_id=patient_id,
        analytics_level=current.analytics_level,
        biometric=current.biometric,
        pose_tracking_allowed=current.pose_tracking_allowed,
        history=await repo.history(conn, patient_id),
    )


async def pose_tracking_allowed(conn: AsyncConnection, patient_id: int) -> bool:
    return (await repo.current(conn, patient_id)).pose_tracking_allowed


async def record(
    conn: AsyncConnection,
    actor: Actor,
    patient_id: int,
    *,
    analytics_level: int | None = None,
    biometric: bool | None = None,
    form_instance_id: int | None = None,
    reason: str | None = None,
) -> None:
    """Append the given decisions (one row per kind) and their audit row, in ``conn``'s transaction."""
    before = await repo.current(conn, patient_id)
    common: dict[str, Any] = {
        "patient_id": patient_id,
        "form_instance_id": form_instance_id,
        "reason": reason,
        "user_id": actor.user_id,
        "role": actor.role,
    }
    if analytics_level is not None:
        await repo.insert(
            conn,
            common
            | {"kind": ConsentKind.ANALYTICS, "analytics_level": analytics_level, "granted": analytics_level > 0},
        )
    if biometric is not None:
        await repo.insert(conn, common | {"kind": ConsentKind.BIOMETRIC, "analytics_level": None, "granted": biometric})
    after = await repo.current(conn, patient_id)
    await audit.record(
        conn,
        actor,
        "patient_consent.changed",
        "patient",
        patient_id,
        before={"analytics_level": before.analytics_level, "biometric": before.biometric},
        after={
            "analytics_level": after.analytics_level,
            "biometric": after.biometric,
            "form_instance_id": form_instance_id,
        },
    )


class ConsentService:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection], issuer: TelemetryTokenIssuer) -> None:
        self._pool = pool
        self._issuer = issuer

    async def get(self, actor: Actor, patient_id: int) -> ConsentState:
        async with actor_transaction(self._pool, actor) as conn:
            if not await repo.patient_visible(conn, patient_id):
                raise NotFoundError(f"Patient {patient_id} was not found.")
            return await state(conn, patient_id)

    async def change(self, actor: Actor, patient_id: int, data: ConsentChange) -> ConsentState:
        if data.analytics_level is None and data.biometric is None:
            raise UnprocessableError(
                "Nothing to change.",
                errors=[FieldError("analytics_level", "give analytics_level, biometric or both")],
            )
        async with actor_transaction(self._pool, actor) as conn:
            if not await repo.patient_visible(conn, patient_id):
                raise NotFoundError(f"Patient {patient_id} was not found.")
            if actor.role != "patient":
                if data.form_instance_id is None:
                    raise UnprocessableError(
                        "Staff record a patient's consent with the patient's submitted consent form as evidence.",
                        errors=[FieldError("form_instance_id", "required when staff record consent")],
                    )
                if not await repo.is_evidence(conn, patient_id, data.form_instance_id):
                    raise UnprocessableError(
                        "The evidence must be a submitted consent form of this patient.",
                        errors=[FieldError("form_instance_id", "not a submitted consent form of this patient")],
                    )
            elif data.form_instance_id is not None and not await repo.is_evidence(
                conn, patient_id, data.form_instance_id
            ):
                raise UnprocessableError(
                    "The evidence must be a submitted consent form of this patient.",
                    errors=[FieldError("form_instance_id", "not a submitted consent form of this patient")],
                )
            await record(
                conn,
                actor,
                patient_id,
                analytics_level=data.analytics_level,
                biometric=data.biometric,
                form_instance_id=data.form_instance_id,
                reason=data.reason,
            )
            return await state(conn, patient_id)

    async def telemetry_token(self, actor: Actor) -> TelemetryToken:
        """A patient's token carries their consent now; staff get a ``staff`` token for reading aggregates,
        with consent level 0 (they send nothing)."""
        org_hash = self._issuer.keyed_hash("organization", actor.organization_id)
        if actor.role == "patient" and actor.patient_id is not None:
            async with actor_transaction(self._pool, actor) as conn:
                if not await repo.patient_visible(conn, actor.patient_id):
                    raise NotFoundError(f"Patient {actor.patient_id} was not found.")
                current = await repo.current(conn, actor.patient_id)
            actor_hash = self._issuer.keyed_hash("patient", actor.patient_id)
            role, level, biometric = "patient", current.analytics_level, current.biometric
        else:
            actor_hash = self._issuer.keyed_hash("user", actor.user_id)
            role, level, biometric = "staff", 0, False
        token, expires_at = self._issuer.issue(
            actor_hash=actor_hash, org_hash=org_hash, role=role, consent_level=level, biometric=biometric
        )
        log.info("telemetry_token.issued", role=role, consent_level=level, biometric=biometric)
        return TelemetryToken(
            token=token, expires_at=expires_at, actor_hash=actor_hash, consent_level=level, biometric=biometric
        )

"""Consent and telemetry token requests: reading and changing a patient's consent (the rules are
``rules``), and issuing the telemetry tokens that carry it. A telemetry token carries the consent in force
when it is issued and lives at most 10 minutes, so a revocation stops collection within that time. See
docs/privacy.md.
"""

from __future__ import annotations

import structlog
from contracts.consent import ConsentChange, ConsentState, TelemetryToken
from contracts.problems import FieldError
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth.actor import Actor
from service_common.errors import NotFoundError, UnprocessableError

from core_api.consent import repository as repo
from core_api.consent.rules import check_staff_evidence, record, state
from core_api.db.tenancy import actor_transaction
from core_api.telemetry_tokens import TelemetryTokenIssuer

log = structlog.get_logger("consent")


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
            await repo.lock(conn, patient_id)
            if actor.role != "patient":
                await check_staff_evidence(conn, patient_id, data)
            elif (
                data.form_instance_id is not None
                and await repo.consent_form_responses(conn, patient_id, data.form_instance_id) is None
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

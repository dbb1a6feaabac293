"""GDPR export: everything about a patient, to the patient or an admin of their organization.

One SQL statement gathers every section (row-level security keeps it to what the caller may see); the
export is audited as a read of the patient's data. See docs/privacy.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from contracts.privacy import ErasureStatus, ExportFormat, FhirBundle, PatientExport
from service_common.auth.actor import Actor
from service_common.errors import ConflictError, NotFoundError

from core_api.audit import trail
from core_api.consent import repository as consent_repo
from core_api.consent import rules as consent
from core_api.db.queries import load_queries
from core_api.db.rows import fetch_one
from core_api.db.tenancy import PoolService, actor_transaction
from core_api.enrollments.expiry import expire_overdue
from core_api.not_found import or_404
from core_api.privacy.fhir import bundle

QUERIES = load_queries(__package__ or "core_api.privacy")


class _Sections(msgspec.Struct, frozen=True):
    patient: dict[str, object]
    service_plans: list[dict[str, object]]
    enrollments: list[dict[str, object]]
    status_changes: list[dict[str, object]]
    session_completions: list[dict[str, object]]
    exercise_logs: list[dict[str, object]]
    form_instances: list[dict[str, object]]
    consents: list[dict[str, object]]
    audit_entries: list[dict[str, object]]


class PrivacyService(PoolService):
    async def export(self, actor: Actor, patient_id: int, format_: ExportFormat) -> PatientExport | FhirBundle:
        async with actor_transaction(self._pool, actor) as conn:
            row = or_404(
                await (await conn.execute(QUERIES.export_patient, {"patient_id": patient_id})).fetchone(),
                f"Patient {patient_id} was not found.",
            )
            sections = msgspec.json.decode(row[0], type=_Sections)
            await trail.record(conn, actor, "patient.exported", "patient", patient_id, after={"format": format_.value})
        export = PatientExport(exported_at=datetime.now(UTC), **msgspec.structs.asdict(sections))
        return bundle(export) if format_ is ExportFormat.FHIR else export

    async def request_erasure(self, actor: Actor, patient_id: int) -> ErasureStatus:
        """Erase the patient (GDPR art. 17), at once as far as anyone using the product can tell: open
        enrollments are cancelled, consent drops to nothing (so telemetry tokens stop carrying any), queued
        evidence collections are dropped, the patient is soft-deleted and, with the erasure row, invisible to
        every request and report. The retention job strips the identity after the grace period and deletes
        telemetry."""
        params = {"patient_id": patient_id, "user_id": actor.user_id, "role": actor.role}
        async with actor_transaction(self._pool, actor) as conn:
            if not await consent_repo.patient_visible(conn, patient_id):
                raise NotFoundError(f"Patient {patient_id} was not found.")
            if await fetch_one(conn, QUERIES.get_erasure, params, ErasureStatus) is not None:
                raise ConflictError(f"Patient {patient_id} is already being erased.")
            # An overdue enrollment is expired, not open: its expiry is recorded rather than cancelled.
            await expire_overdue(conn, patient_id=patient_id)
            cancelled = [
                row[0] for row in await (await conn.execute(QUERIES.cancel_open_enrollments, params)).fetchall()
            ]
            await consent.record(
                conn, actor, patient_id, analytics_level=0, biometric=False, reason="erasure requested"
            )
            await conn.execute(QUERIES.delete_evidence_collections, params)
            await conn.execute(QUERIES.soft_delete_patient, params)
            await trail.record(
                conn,
                actor,
                "patient.erasure_requested",
                "patient",
                patient_id,
                after={"cancelled_enrollments": cancelled},
            )
            status = await fetch_one(conn, QUERIES.insert_erasure, params, ErasureStatus)
            assert status is not None
            return status

    async def erasure_status(self, actor: Actor, patient_id: int) -> ErasureStatus:
        async with actor_transaction(self._pool, actor) as conn:
            status = await fetch_one(conn, QUERIES.get_erasure, {"patient_id": patient_id}, ErasureStatus)
        return or_404(status, f"No erasure was requested for patient {patient_id}.")

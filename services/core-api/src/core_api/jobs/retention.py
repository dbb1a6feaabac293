"""Erasure and clinical retention: ``python -m core_api.jobs.retention`` (``make retention-job``, nightly).

For each organization, as the owner role with that tenant set (role ``system``, the one role that still
sees erased patients), each step in its own transaction:

1. **Identity.** Erasure requests older than PRIVACY_ERASURE_GRACE_DAYS: the audit payloads about the
   patient are erased, the patient row keeps only its
   id and time zone (name "Erased patient", no email, no birth date, no user), the patient's user loses name
   and email, and free text that may name anyone goes (session notes and skip reasons, exercise log notes,
   status change reasons, consent reasons, free-text form answers), and so does telemetry's answer stored
   per exercise log (``evidence``: the keyed hash and biometric detail), with the link to telemetry
   sessions and any evidence collection still queued. Scores, counts and dates, measured ones as reported
   ones, stay: they are clinical records under a retention duty, now pseudonymous.
2. **Telemetry.** For erased identities, the telemetry service deletes every row of the patient's keyed
   hash (PRIVACY_TELEMETRY_URL; until it is set the step is reported as pending and retried next run).
3. **Clinical retention.** Finished enrollments (completed, cancelled, expired) unchanged for
   PRIVACY_CLINICAL_RETENTION_YEARS lose everything recorded under them, then themselves; an erased
   patient with nothing left loses their consents, forms and service plans too. The pseudonymized patient
   row and its erasure row remain as the record that the erasure was carried out.

Audit rows about the patient keep their ids, actions and times; their ``before``/``after`` payloads are
erased in step 1, the one change the append-only, hash-chained audit log allows (docs/audit.md). Every run
logs what it did, with counts. Running it twice does nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import structlog
from psycopg import AsyncConnection

from core_api.db.queries import load_queries
from core_api.jobs.tenancy import job_database_url, organization_ids, owner_connection, run_job, set_tenant
from core_api.settings import Settings
from core_api.telemetry_tokens import TelemetryTokenIssuer

log = structlog.get_logger("jobs.retention")

QUERIES = load_queries(__package__ or "core_api.jobs", "retention.sql")
# Beyond the token lifetime: telemetry's clock leeway (30 s) and its spool's flush interval, with room to spare.
TELEMETRY_SETTLE_MARGIN_SECONDS = 120
_IDENTITY_STEPS = (
    "erase_audit_payloads",  # first: it finds the user's own audit rows through the patient row
    "erase_user",
    "erase_patient",
    "erase_completion_text",
    "erase_log_text",
    "erase_log_evidence",
    "delete_evidence_collections",
    "erase_status_reasons",
    "erase_consent_reasons",
    "erase_text_answers",
    "mark_identity_erased",
)


@dataclass
class Report:
    identities_erased: int = 0
    telemetry_erased: int = 0
    telemetry_pending: int = 0
    enrollments_deleted: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)


async def _ids(conn: AsyncConnection, query: bytes, **params: object) -> list[int]:
    return [row[0] for row in await (await conn.execute(query, params)).fetchall()]


async def _erase_identities(conn: AsyncConnection, organization_id: int, settings: Settings, report: Report) -> None:
    async with conn.transaction():
        await set_tenant(conn, organization_id)
        for patient_id in await _ids(conn, QUERIES.due_erasures, grace_days=settings.privacy.erasure_grace_days):
            for step in _IDENTITY_STEPS:
                await conn.execute(QUERIES[step], {"patient_id": patient_id})
            report.identities_erased += 1


def telemetry_settle_seconds(settings: Settings) -> int:
    """How long after an erasure request telemetry's copy is deleted: a token issued just before the
    request stays valid for its lifetime (plus telemetry's clock leeway and the spool's flush), and what it
    sends in that time must be deleted too."""
    return settings.telemetry_token.ttl_seconds + TELEMETRY_SETTLE_MARGIN_SECONDS


async def _erase_telemetry(
    conn: AsyncConnection, organization_id: int, settings: Settings, issuer: TelemetryTokenIssuer, report: Report
) -> None:
    async with conn.transaction():
        await set_tenant(conn, organization_id)
        pending = await _ids(conn, QUERIES.telemetry_pending, settle_seconds=telemetry_settle_seconds(settings))
    if not pending:
        return
    if not settings.privacy.telemetry_url:
        report.telemetry_pending += len(pending)
        return
    org_hash = issuer.keyed_hash("organization", organization_id)
    token, _ = issuer.issue(actor_hash="core-api", org_hash=org_hash, role="service", consent_level=0, biometric=False)
    async with httpx.AsyncClient(base_url=settings.privacy.telemetry_url, timeout=60) as client:
        for patient_id in pending:
            actor_hash = issuer.keyed_hash("patient", patient_id)
            response = await client.delete(f"/v1/actors/{actor_hash}", headers={"Authorization": f"Bearer {token}"})
            if response.status_code // 100 != 2:
                log.warning("retention.telemetry_erasure_failed", status_code=response.status_code)
                report.telemetry_pending += 1
                continue
            async with conn.transaction():
                await set_tenant(conn, organization_id)
                await conn.execute(QUERIES.mark_telemetry_erased, {"patient_id": patient_id})
            report.telemetry_erased += 1


async def _purge_clinical(conn: AsyncConnection, organization_id: int, settings: Settings, report: Report) -> None:
    while True:
        async with conn.transaction():
            await set_tenant(conn, organization_id)
            ids = await _ids(conn, QUERIES.expired_enrollments, years=settings.privacy.clinical_retention_years)
            if not ids:
                break
            cursor = await conn.execute(QUERIES.purge_enrollments, {"ids": ids})
            row = await cursor.fetchone()
            assert row is not None
            assert cursor.description is not None
            for column, count in zip((c.name for c in cursor.description), row, strict=True):
                report.rows_deleted[column] = report.rows_deleted.get(column, 0) + int(count)
            await conn.execute(QUERIES.purge_completions, {"ids": ids})
            await conn.execute(QUERIES.delete_completions, {"ids": ids})
            await conn.execute(QUERIES.delete_enrollments, {"ids": ids})
            report.enrollments_deleted += len(ids)
    async with conn.transaction():
        await set_tenant(conn, organization_id)
        for patient_id in await _ids(conn, QUERIES.clinical_done):
            await conn.execute(QUERIES.purge_patient_rest, {"patient_id": patient_id})


async def run(conninfo: str, settings: Settings) -> dict[int, Report]:
    """One run over every organization; organization id → what was done."""
    issuer = TelemetryTokenIssuer(settings.telemetry_token)
    reports: dict[int, Report] = {}
    async with owner_connection(conninfo, settings.migrations.owner_role) as conn:
        for organization_id in await organization_ids(conn):
            report = reports[organization_id] = Report()
            try:
                await _erase_identities(conn, organization_id, settings, report)
                await _erase_telemetry(conn, organization_id, settings, issuer, report)
                await _purge_clinical(conn, organization_id, settings, report)
            except Exception:
                log.exception("retention.organization_failed", organization_id=organization_id)
    return reports


def _summary(reports: dict[int, Report]) -> dict[str, object]:
    deleted: dict[str, int] = {}
    for report in reports.values():
        for table, count in report.rows_deleted.items():
            deleted[table] = deleted.get(table, 0) + count
    return {
        "organizations": len(reports),
        "identities_erased": sum(r.identities_erased for r in reports.values()),
        "telemetry_erased": sum(r.telemetry_erased for r in reports.values()),
        "telemetry_pending": sum(r.telemetry_pending for r in reports.values()),
        "enrollments_deleted": sum(r.enrollments_deleted for r in reports.values()),
        "rows_deleted": deleted,
    }


def main() -> None:
    run_job(log, "retention", lambda settings: run(job_database_url(settings), settings), _summary)


if __name__ == "__main__":
    main()

"""Verify the audit log's hash chains: ``python -m core_api.audit.verify [--organization ID]``.

Walks each organization's chain (or only ``--organization``'s) with :func:`verify_chain`, prints one JSON
report per organization on stdout, and exits with status 1 when any chain is broken (2 when the
organization does not exist). Like the jobs (core_api/jobs/), it connects with MIGRATIONS_DATABASE_URL
(else DATABASE_URL), acts as the owner role, which may list every organization, and reads one
organization at a time with that tenant set, so row-level security still scopes every read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import msgspec
import structlog
from contracts.audit import AuditChainReport
from service_common.logging import configure_logging

from core_api.audit.chain import DEFAULT_BATCH_SIZE, verify_chain
from core_api.jobs.tenancy import job_database_url, organization_ids, owner_connection, set_tenant
from core_api.settings import load_settings

log = structlog.get_logger("audit_verify")


async def verify_all(
    conninfo: str,
    owner_role: str = "rehab_owner",
    organization_id: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[AuditChainReport]:
    """The report of every organization's chain (or only ``organization_id``'s), by organization id."""
    reports: list[AuditChainReport] = []
    async with owner_connection(conninfo, owner_role) as conn:
        organizations = await organization_ids(conn)
        if organization_id is not None:
            if organization_id not in organizations:
                raise LookupError(f"organization {organization_id} does not exist")
            organizations = [organization_id]
        for organization in organizations:
            async with conn.transaction():
                await set_tenant(conn, organization)
                reports.append(await verify_chain(conn, organization, batch_size))
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify the audit log's hash chain of each organization.")
    parser.add_argument("--organization", type=int, help="verify only this organization's chain")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows read per query")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log)
    try:
        reports = asyncio.run(
            verify_all(job_database_url(settings), settings.migrations.owner_role, args.organization, args.batch_size)
        )
    except LookupError as exc:
        print(exc, file=sys.stderr)
        return 2
    for report in reports:
        sys.stdout.write(msgspec.json.encode(report).decode() + "\n")
    broken = [report.organization_id for report in reports if not report.ok]
    log.info("audit_verify.done", organizations=len(reports), broken=broken)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

"""SQL for enrollments (patient_treatment_plans)."""

from __future__ import annotations

from contracts.enrollments import PatientTreatmentPlan
from psycopg import AsyncConnection

from core_api.db.queries import load_queries
from core_api.db.rows import fetch_json

QUERIES = load_queries(__package__ or "core_api.domain.enrollments")


async def get_enrollment(conn: AsyncConnection, enrollment_id: int) -> PatientTreatmentPlan | None:
    """The enrollment as the API shows it, or ``None`` when it is not visible to the caller."""
    return await fetch_json(conn, QUERIES.enrollment_json, {"id": enrollment_id}, PatientTreatmentPlan)

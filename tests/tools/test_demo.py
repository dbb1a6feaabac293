"""``make demo`` loads the spec's example clinic through the real core-api, once."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from tools.databases import PostgresUrls
from tools.demo import ORGANIZATION, PLAN_NAME, load_demo

# Rows the demo organization owns, table by table: a repeat run must not add any (nor audit any change).
ORG_TABLES = (
    "users",
    "specialties",
    "specialists",
    "patients",
    "exercises",
    "form_templates",
    "service_plans",
    "patient_service_plans",
    "treatment_plans",
    "treatment_plan_sessions",
    "treatment_plan_session_exercises",
    "treatment_plan_versions",
    "audit_log",
)


def _row_counts(conn: psycopg.Connection, organization_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in ORG_TABLES:
        query = sql.SQL("SELECT count(*) FROM {} WHERE organization_id = %s").format(sql.Identifier(table))
        if table == "audit_log":
            # Staff reads are audited too (docs/audit.md); a second run may read, it must not change anything.
            query += sql.SQL(" AND action NOT LIKE '%%.read' AND action NOT LIKE '%%.list'")
        row = conn.execute(query, (organization_id,)).fetchone()
        assert row is not None
        counts[table] = int(row[0])
    return counts


def test_the_demo_loads_the_spec_example_once(
    core_api_url: str, postgres: PostgresUrls, dev_keys: Path, superuser: psycopg.Connection
) -> None:
    first = load_demo(core_api_url, postgres.superuser, dev_keys)
    assert f"organization {ORGANIZATION!r}" in first.created
    after_first = _row_counts(superuser, first.organization_id)

    second = load_demo(core_api_url, postgres.superuser, dev_keys)

    assert second.created == []
    assert second == replace(first, created=[])
    assert _row_counts(superuser, first.organization_id) == after_first
    assert superuser.execute("SELECT count(*) FROM organizations WHERE name = %s", (ORGANIZATION,)).fetchone() == (1,)

    # `make demo` itself, on the loaded clinic: nothing new, and the ids and tokens printed.
    command = [sys.executable, "-m", "tools.demo", "--api-url", core_api_url]
    command += ["--database-url", postgres.superuser, "--keys", str(dev_keys)]
    printed = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout
    assert "already loaded; nothing created" in printed
    assert f"organization {first.organization_id}" in printed
    assert all(f"  {role}: ey" in printed for role in ("admin", "specialist", "patient"))
    assert _row_counts(superuser, first.organization_id) == after_first

    tokens = first.tokens(dev_keys)
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    plan = httpx.get(f"{core_api_url}/v1/treatment-plans/{first.plan_id}", headers=admin).json()
    assert (plan["name"], plan["published"], plan["status"], plan["version"]) == (
        PLAN_NAME,
        True,
        "pending_approval",
        1,
    )
    assert (plan["frequency_per_week"], plan["duration_weeks"], plan["requires_approval"]) == (3, 4, True)
    assert sorted(plan["condition_tags"]) == ["knee_rehab", "post_acl"]
    assert plan["specialist"] == {"id": first.specialist_id, "name": "Dr. Maria Kent"}
    assert plan["specialty"]["name"] == "Physiotherapy"
    assert plan["post_session_form_template"]["title"] == "Pain & Mobility Questionnaire"
    assert [
        (session["name"], [entry["exercise"]["name"] for entry in session["exercises"]]) for session in plan["sessions"]
    ] == [
        ("Mobility Focus", ["Quad Set", "Prone Hang"]),
        ("Strengthening Focus", ["Heel Slides", "Straight Leg Raise"]),
    ]
    quad_set, prone_hang = plan["sessions"][0]["exercises"]
    assert (quad_set["mode"], quad_set["sets"], quad_set["reps"], quad_set["notes"]) == (
        "reps",
        3,
        10,
        "Focus on controlled contraction",
    )
    assert (quad_set["rest_between_sets_seconds"], quad_set["rest_after_exercise_seconds"]) == (30, 60)
    assert (prone_hang["mode"], prone_hang["sets"], prone_hang["hold_seconds"]) == ("duration", 2, 60)

    # The printed tokens work: the specialist's and the patient's, who holds telerehab and library access.
    specialist = {"Authorization": f"Bearer {tokens['specialist']}"}
    assert httpx.get(f"{core_api_url}/v1/treatment-plans/{first.plan_id}", headers=specialist).status_code == 200
    patient = {"Authorization": f"Bearer {tokens['patient']}"}
    jane = httpx.get(f"{core_api_url}/v1/patients/{first.patient_id}", headers=patient).json()
    assert (jane["name"], jane["time_zone"]) == ("Jane Doe", "Europe/Madrid")
    [held] = httpx.get(f"{core_api_url}/v1/patients/{first.patient_id}/service-plans", headers=patient).json()[
        "patient_service_plans"
    ]
    assert (held["active"], held["service_plan"]["telerehab_access"], held["service_plan"]["library_access"]) == (
        True,
        True,
        True,
    )

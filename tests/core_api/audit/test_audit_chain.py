"""The audit log is append-only and hash-chained per organization; staff reads of patient data are audited.

Tampering is done the only way it can be: as the superuser, with the append-only trigger disabled inside
the tampering transaction (DDL is transactional, so the trigger is back on when it commits).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from tests.core_api.helpers.execution import enroll
from tests.core_api.helpers.responses import Client, ok
from tests.core_api.seed import Org
from tools.databases import PostgresUrls

SET_TENANT = """
SELECT set_config('app.organization_id', %s, true), set_config('app.user_id', '1', true),
       set_config('app.role', 'admin', true)
"""
INSERT_AUDIT = (
    "INSERT INTO audit_log (organization_id, actor_user_id, actor_role, action, entity_type, entity_id, after) "
    "VALUES (%s, 1, 'admin', 'test.written', 'test', %s, %s)"
)
# 10,000 rows in one statement, through the chain trigger, with a little of every column type.
SEED_ROWS = """
INSERT INTO audit_log (organization_id, actor_user_id, actor_role, action, entity_type, entity_id, patient_id,
                       before, after)
SELECT %(organization_id)s, CASE WHEN g %% 7 = 0 THEN NULL ELSE g %% 13 END, 'specialist', 'bulk.updated',
       'thing', g::text, CASE WHEN g %% 2 = 0 THEN g END,
       CASE WHEN g %% 3 = 0 THEN NULL ELSE jsonb_build_object('n', g, 'price', 1.50, 'tiny', 1e-7) END,
       jsonb_build_object('note', E'Se\u00f1or "quoted"\\n' || g, 'list', jsonb_build_array(g, true, NULL))
FROM generate_series(1, %(rows)s) g
"""


@contextmanager
def app_transaction(postgres: PostgresUrls, organization_id: int) -> Iterator[psycopg.Connection]:
    """A transaction of the app role with ``organization_id`` as its tenant."""
    with psycopg.connect(postgres.app) as conn, conn.transaction():
        conn.execute(SET_TENANT, (str(organization_id),))
        yield conn


@contextmanager
def tampering(superuser: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A superuser transaction in which the append-only trigger is off."""
    with superuser.transaction():
        superuser.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        yield superuser
        superuser.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def chain_ids(superuser: psycopg.Connection, organization_id: int) -> list[int]:
    rows = superuser.execute(
        "SELECT id FROM audit_log WHERE organization_id = %s ORDER BY chain_seq", (organization_id,)
    ).fetchall()
    return [row[0] for row in rows]


def verify(core_api: Client, org: Org) -> Any:
    return ok(core_api.get("/v1/audit/verify", headers=org.headers("admin")))


def verify_cli(postgres: PostgresUrls, organization_id: int) -> tuple[int, list[Any]]:
    """Exit status and JSON reports of ``python -m core_api.audit.verify --organization``."""
    result = subprocess.run(
        [sys.executable, "-m", "core_api.audit.verify", "--organization", str(organization_id)],
        env={**os.environ, "MIGRATIONS_DATABASE_URL": postgres.owner, "LOG_LEVEL": "warning"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


# Append-only -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET action = 'rewritten'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
)
def test_the_app_role_cannot_change_audit_rows(postgres: PostgresUrls, org: Org, statement: str) -> None:
    with app_transaction(postgres, org.id) as conn:
        conn.execute(INSERT_AUDIT, (org.id, "1", None))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), app_transaction(postgres, org.id) as conn:
        conn.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'rewritten' WHERE organization_id = %(org)s",
        "DELETE FROM audit_log WHERE organization_id = %(org)s",
        "TRUNCATE audit_log",
    ],
)
def test_not_even_the_superuser_changes_audit_rows_with_the_trigger_on(
    superuser: psycopg.Connection, postgres: PostgresUrls, org: Org, statement: str
) -> None:
    with app_transaction(postgres, org.id) as conn:
        conn.execute(INSERT_AUDIT, (org.id, "1", None))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"), superuser.transaction():
        superuser.execute(statement, {"org": org.id})
    assert len(chain_ids(superuser, org.id)) == 1


def test_the_chain_columns_are_the_triggers_not_the_writers(
    superuser: psycopg.Connection, postgres: PostgresUrls, org: Org
) -> None:
    with app_transaction(postgres, org.id) as conn:
        conn.execute(
            "INSERT INTO audit_log (organization_id, actor_role, action, entity_type, entity_id, chain_seq, "
            "previous_hash, row_hash) VALUES (%s, 'admin', 'forged', 'x', '1', 99, '\\x00', '\\x00')",
            (org.id,),
        )
    row = superuser.execute(
        "SELECT chain_seq, length(previous_hash), length(row_hash) FROM audit_log WHERE organization_id = %s",
        (org.id,),
    ).fetchone()
    assert row == (1, 32, 32)


# The chain ---------------------------------------------------------------------------------------------


def test_a_fresh_organization_has_an_empty_valid_chain(core_api: Client, org: Org) -> None:
    report = verify(core_api, org)
    assert (report["organization_id"], report["ok"], report["rows_checked"], report["head_hash"]) == (
        org.id,
        True,
        0,
        None,
    )
    assert report["first_broken_id"] is None


def test_concurrent_writers_of_two_organizations_keep_one_chain_each(
    superuser: psycopg.Connection, postgres: PostgresUrls, core_api: Client, org: Org, other_org: Org
) -> None:
    writers, transactions = 8, 25
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        organization_id = (org.id, other_org.id)[number % 2]
        try:
            with psycopg.connect(postgres.app) as conn:
                barrier.wait()
                for step in range(transactions):
                    with conn.transaction():
                        conn.execute(SET_TENANT, (str(organization_id),))
                        conn.execute(INSERT_AUDIT, (organization_id, f"{number}-{step}", json.dumps({"n": step})))
                        conn.execute(INSERT_AUDIT, (organization_id, f"{number}-{step}b", None))
                    # A rolled-back write leaves no trace and no gap.
                    if step % 5 == 0:
                        with conn.transaction():
                            conn.execute(SET_TENANT, (str(organization_id),))
                            conn.execute(INSERT_AUDIT, (organization_id, "rolled back", None))
                            raise psycopg.Rollback
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for each in (org, other_org):
        report = verify(core_api, each)
        expected = writers // 2 * transactions * 2
        assert (report["ok"], report["rows_checked"], report["head_seq"]) == (True, expected, expected)
        seqs = superuser.execute(
            "SELECT count(DISTINCT chain_seq), min(chain_seq), max(chain_seq), count(DISTINCT previous_hash) "
            "FROM audit_log WHERE organization_id = %s",
            (each.id,),
        ).fetchone()
        assert seqs == (expected, 1, expected, expected), "one chain: no position or predecessor twice"


@pytest.mark.processes  # the verify CLI
def test_editing_one_row_among_10000_is_found_by_the_endpoint_and_the_cli(
    superuser: psycopg.Connection, postgres: PostgresUrls, core_api: Client, org: Org
) -> None:
    superuser.execute(SEED_ROWS, {"organization_id": org.id, "rows": 10_000})
    ids = chain_ids(superuser, org.id)
    assert len(ids) == 10_000
    assert verify(core_api, org)["ok"] is True
    status, reports = verify_cli(postgres, org.id)
    assert (status, reports[0]["ok"], reports[0]["rows_checked"]) == (0, True, 10_000)

    edited = ids[6_789]
    with tampering(superuser):
        superuser.execute(
            "UPDATE audit_log SET after = jsonb_set(after, '{note}', '\"harmless\"') WHERE id = %s", (edited,)
        )

    report = verify(core_api, org)
    assert report["ok"] is False
    assert (report["first_broken_id"], report["first_broken_seq"], report["reason"]) == (
        edited,
        6_790,
        "payload_hash_mismatch",
    )
    assert report["rows_checked"] == 6_790
    assert report["expected_hash"] != report["stored_hash"]
    stored = superuser.execute("SELECT encode(payload_hash, 'hex') FROM audit_log WHERE id = %s", (edited,)).fetchone()
    assert stored == (report["stored_hash"],)

    status, reports = verify_cli(postgres, org.id)
    assert status == 1
    assert [(r["organization_id"], r["first_broken_id"], r["reason"]) for r in reports] == [
        (org.id, edited, "payload_hash_mismatch")
    ]


def test_a_deleted_row_in_the_middle_is_found(superuser: psycopg.Connection, core_api: Client, org: Org) -> None:
    superuser.execute(SEED_ROWS, {"organization_id": org.id, "rows": 1_000})
    ids = chain_ids(superuser, org.id)
    with tampering(superuser):
        superuser.execute("DELETE FROM audit_log WHERE id = %s", (ids[499],))
    report = verify(core_api, org)
    assert (report["ok"], report["first_broken_id"], report["first_broken_seq"], report["reason"]) == (
        False,
        ids[500],
        501,
        "missing_rows",
    )
    assert report["head_seq"] == 499


def test_a_row_rewritten_with_a_recomputed_hash_breaks_the_next_link(
    superuser: psycopg.Connection, core_api: Client, org: Org
) -> None:
    superuser.execute(SEED_ROWS, {"organization_id": org.id, "rows": 100})
    ids = chain_ids(superuser, org.id)
    with tampering(superuser):
        superuser.execute("UPDATE audit_log SET action = 'bulk.deleted' WHERE id = %s", (ids[41],))
        superuser.execute(
            "UPDATE audit_log a SET row_hash = sha256(a.previous_hash || audit_log_canonical(a)) WHERE id = %s",
            (ids[41],),
        )
    report = verify(core_api, org)
    assert (report["first_broken_id"], report["reason"]) == (ids[42], "previous_hash_mismatch")


def test_other_organizations_chains_are_untouched_by_tampering(
    superuser: psycopg.Connection, core_api: Client, org: Org, other_org: Org
) -> None:
    for each in (org, other_org):
        superuser.execute(SEED_ROWS, {"organization_id": each.id, "rows": 50})
    edited = chain_ids(superuser, org.id)[3]
    with tampering(superuser):
        superuser.execute("UPDATE audit_log SET entity_id = 'x' WHERE id = %s", (edited,))
    report = verify(core_api, org)
    assert (report["first_broken_id"], report["reason"]) == (edited, "row_hash_mismatch")
    assert verify(core_api, other_org)["ok"] is True


# Erasure -----------------------------------------------------------------------------------------------


def test_erasing_a_patients_payloads_keeps_the_chain_valid_and_is_the_only_update(
    superuser: psycopg.Connection, postgres: PostgresUrls, core_api: Client, org: Org
) -> None:
    ok(
        core_api.put(
            f"/v1/patients/{org.patient}",
            json={"name": "Zelda Quux", "time_zone": "Europe/Madrid"},
            headers=org.headers("admin"),
        )
    )
    ok(core_api.get(f"/v1/patients/{org.other_patient}", headers=org.headers("admin")))
    rows = superuser.execute(
        "SELECT action, patient_id, after IS NOT NULL FROM audit_log WHERE organization_id = %s ORDER BY chain_seq",
        (org.id,),
    ).fetchall()
    assert rows == [("patient.updated", org.patient, True), ("patient.read", org.other_patient, False)]

    with psycopg.connect(postgres.owner) as conn, conn.transaction():
        conn.execute(SET_TENANT, (str(org.id),))
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("UPDATE audit_log SET after = NULL WHERE patient_id = %s", (org.patient,))
        assert conn.execute("SELECT audit_log_erase_payloads(%s)", (org.patient,)).fetchone() == (1,)
        assert conn.execute("SELECT audit_log_erase_payloads(%s)", (org.patient,)).fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("UPDATE audit_log SET payload_erased_at = now() WHERE patient_id = %s", (org.patient,))
    # Other tests write synthetic rows whose patient_id may equal this patient's id: the organization too.
    row = superuser.execute(
        "SELECT before, after, payload_erased_at IS NOT NULL FROM audit_log WHERE organization_id = %s "
        "AND patient_id = %s",
        (org.id, org.patient),
    ).fetchone()
    assert row == (None, None, True)
    report = verify(core_api, org)
    assert (report["ok"], report["rows_checked"], report["payloads_erased"]) == (True, 2, 1)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), app_transaction(postgres, org.id) as conn:
        conn.execute("SELECT audit_log_erase_payloads(%s)", (org.other_patient,))


# Read auditing -----------------------------------------------------------------------------------------


def read_rows(superuser: psycopg.Connection, organization_id: int) -> list[tuple[Any, ...]]:
    return superuser.execute(
        "SELECT action, actor_role, entity_type, entity_id, patient_id, before, after FROM audit_log "
        "WHERE organization_id = %s AND action LIKE '%%.read' ORDER BY chain_seq",
        (organization_id,),
    ).fetchall()


def test_a_specialist_reading_progress_writes_one_progress_read_row(
    superuser: psycopg.Connection, core_api: Client, org: Org
) -> None:
    enrollment = enroll(core_api, superuser, org)
    ok(core_api.get(f"/v1/patient-treatment-plans/{enrollment['id']}/progress", headers=org.headers("specialist")))
    assert read_rows(superuser, org.id) == [
        ("progress.read", "specialist", "patient_treatment_plan", str(enrollment["id"]), org.patient, None, None)
    ]


def test_a_patient_reading_their_own_data_is_not_recorded(
    superuser: psycopg.Connection, core_api: Client, org: Org
) -> None:
    enrollment = enroll(core_api, superuser, org)
    ok(core_api.get(f"/v1/patient-treatment-plans/{enrollment['id']}/progress", headers=org.headers("patient")))
    ok(core_api.get(f"/v1/patients/{org.patient}", headers=org.headers("patient")))
    assert read_rows(superuser, org.id) == []


def test_staff_reads_of_patient_data_name_the_patient(
    superuser: psycopg.Connection, core_api: Client, org: Org
) -> None:
    enrollment = enroll(core_api, superuser, org)
    held = superuser.execute("SELECT min(id) FROM patient_service_plans WHERE patient_id = %s", (org.patient,))
    [held_id] = held.fetchone() or (None,)
    staff = org.headers("admin")
    for path in (
        f"/v1/patients/{org.patient}",
        f"/v1/patients/{org.patient}/treatment-plans",
        f"/v1/patients/{org.patient}/form-instances",
        f"/v1/patients/{org.patient}/service-plans",
        f"/v1/patient-service-plans/{held_id}",
        f"/v1/patients/{org.patient}/treatment-plans/today",
        f"/v1/patient-treatment-plans/{enrollment['id']}",
        f"/v1/patient-treatment-plans/{enrollment['id']}/analytics",
        f"/v1/patient-treatment-plans/{enrollment['id']}/adherence/trend",
    ):
        ok(core_api.get(path, headers=staff))
    actions = [(action, entity, patient) for action, _, entity, _, patient, _, _ in read_rows(superuser, org.id)]
    assert actions == [
        ("patient.read", "patient", org.patient),
        ("patient_treatment_plan.read", "patient", org.patient),
        ("form_instance.read", "patient", org.patient),
        ("patient_service_plan.read", "patient", org.patient),
        ("patient_service_plan.read", "patient_service_plan", org.patient),
        ("today_sessions.read", "patient", org.patient),
        ("patient_treatment_plan.read", "patient_treatment_plan", org.patient),
        ("analytics.read", "patient_treatment_plan", org.patient),
        ("adherence.read", "patient_treatment_plan", org.patient),
    ]
    assert verify(core_api, org)["ok"] is True

"""Row-level security holds for the role core-api connects as.

The catalog checks cover every table, view and policy that exists, so a future migration that forgets
RLS on an org-owned table fails here.
"""

from __future__ import annotations

import psycopg
import pytest
from core_api.db.provision import APP_ROLE, OWNER_ROLE
from core_api.db.tenancy import scoped_transaction
from psycopg_pool import AsyncConnectionPool

from tools.databases import PostgresUrls

ORG_OWNED_TABLES = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND (EXISTS (SELECT 1 FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped)
       OR c.relname = 'organizations')
"""


def test_app_role_is_not_superuser_has_no_bypassrls_and_owns_nothing(superuser: psycopg.Connection) -> None:
    row = superuser.execute(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
        (APP_ROLE,),
    ).fetchone()
    assert row == (False, False, False, False)
    owned = superuser.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.rolname = %s AND n.nspname = 'public'",
        (APP_ROLE,),
    ).fetchall()
    assert owned == []
    memberships = superuser.execute(
        "SELECT b.rolname FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.member "
        "JOIN pg_roles b ON b.oid = m.roleid WHERE a.rolname = %s",
        (APP_ROLE,),
    ).fetchall()
    assert memberships == [], "the app role must not inherit another role's ownership or attributes"


def test_every_org_owned_table_enables_and_forces_rls(superuser: psycopg.Connection) -> None:
    tables = superuser.execute(ORG_OWNED_TABLES).fetchall()
    assert {name for name, _, _ in tables} >= {"organizations", "users"}
    assert [name for name, enabled, forced in tables if not (enabled and forced)] == []


def test_every_table_is_owned_by_the_owner_role(superuser: psycopg.Connection) -> None:
    owners = superuser.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall()
    assert owners == [(OWNER_ROLE,)]


def test_every_view_is_security_invoker(superuser: psycopg.Connection) -> None:
    leaking = superuser.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'v' "
        "AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)"
    ).fetchall()
    assert leaking == []


def test_every_policy_reads_the_tenant_through_the_null_safe_helpers(superuser: psycopg.Connection) -> None:
    policies = superuser.execute(
        "SELECT tablename, policyname, coalesce(qual, '') || coalesce(with_check, '') FROM pg_policies "
        "WHERE schemaname = 'public'"
    ).fetchall()
    assert policies
    # The exceptions: the owner role (never the app role) may list organizations, so the jobs can run once
    # per tenant (migration 0003, core_api/jobs/), and may read the automation outbox across organizations
    # inside automation_organizations_with_work(), so the dispatcher learns which tenants have work
    # (migration 0007), and the evidence collections inside evidence_organizations_due() (migration 0020).
    # It owns every table, so this gives it nothing it could not take anyway.
    owner_only = {
        ("organizations", "organizations_listed_for_jobs"),
        ("automation_events", "automation_events_dispatch_scan"),
        ("automation_deliveries", "automation_deliveries_dispatch_scan"),
        ("evidence_collections", "evidence_collections_dispatch_scan"),
    }
    assert [
        (table, name)
        for table, name, text in policies
        if "app_organization_id()" not in text and (table, name) not in owner_only
    ] == []
    for _, name in owner_only:
        roles = superuser.execute(
            "SELECT roles::text[], cmd FROM pg_policies WHERE policyname = %s", (name,)
        ).fetchone()
        assert roles == (["rehab_owner"], "SELECT"), name


@pytest.fixture
def two_organizations(superuser: psycopg.Connection) -> tuple[int, int]:
    ids = []
    for name in ("Clinic A", "Clinic B"):
        row = superuser.execute("INSERT INTO organizations (name) VALUES (%s) RETURNING id", (name,)).fetchone()
        assert row is not None
        ids.append(row[0])
        superuser.execute(
            "INSERT INTO users (organization_id, role, display_name) VALUES (%s, 'specialist', %s)",
            (row[0], f"Specialist of {name}"),
        )
    return ids[0], ids[1]


@pytest.mark.anyio
async def test_app_role_sees_only_its_organization(postgres: PostgresUrls, two_organizations: tuple[int, int]) -> None:
    org_a, _ = two_organizations
    async with AsyncConnectionPool(postgres.app, min_size=1, max_size=1, open=False) as pool:
        async with scoped_transaction(pool, organization_id=org_a, user_id=1, role="admin") as conn:
            users = await (await conn.execute("SELECT organization_id FROM users")).fetchall()
            orgs = await (await conn.execute("SELECT id FROM organizations")).fetchall()
        assert {row[0] for row in users} == {org_a}
        assert orgs == [(org_a,)]

        # The same pooled connection, with no tenant set: the setting ended with the transaction.
        async with pool.connection() as conn:
            assert await (await conn.execute("SELECT count(*) FROM users")).fetchone() == (0,)
            assert await (await conn.execute("SELECT count(*) FROM organizations")).fetchone() == (0,)


@pytest.mark.anyio
async def test_app_role_cannot_write_into_another_organization(
    postgres: PostgresUrls, two_organizations: tuple[int, int]
) -> None:
    org_a, org_b = two_organizations
    async with AsyncConnectionPool(postgres.app, min_size=1, max_size=1, open=False) as pool:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            async with scoped_transaction(pool, organization_id=org_a, user_id=1, role="admin") as conn:
                await conn.execute(
                    "INSERT INTO users (organization_id, role, display_name) VALUES (%s, 'patient', 'Intruder')",
                    (org_b,),
                )
        async with scoped_transaction(pool, organization_id=org_a, user_id=1, role="admin") as conn:
            cursor = await conn.execute(
                "UPDATE users SET display_name = 'renamed' WHERE organization_id = %s", (org_b,)
            )
            assert cursor.rowcount == 0


def test_app_role_cannot_disable_rls_or_change_policies(postgres: PostgresUrls) -> None:
    with psycopg.connect(postgres.app, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE users DISABLE ROW LEVEL SECURITY")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET ROLE rehab_owner")

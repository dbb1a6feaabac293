"""Create the two database roles and the database, as a superuser, once per PostgreSQL server.

- ``rehab_owner`` owns every table and runs the migrations.
- ``rehab_app`` is what core-api connects as: not a superuser, no BYPASSRLS, owns nothing, so every
  row-level security policy applies to it.

Idempotent: running it again changes nothing. Passwords are not set here; in production the operator sets
them (``ALTER ROLE ... PASSWORD``) from the secret store, locally the server trusts its unix socket.
Usage: ``python -m core_api.db.provision SUPERUSER_URL [DATABASE_NAME]``.
"""

from __future__ import annotations

import sys

import psycopg
from psycopg import sql

OWNER_ROLE = "rehab_owner"
APP_ROLE = "rehab_app"

CREATE_ROLES = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rehab_owner') THEN
        CREATE ROLE rehab_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rehab_app') THEN
        CREATE ROLE rehab_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT;
    END IF;
END
$$;
"""

DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = %s"


def provision(superuser_url: str, database: str) -> None:
    """Create the roles and ``database`` owned by the owner role, with only the app role allowed in."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        conn.execute(CREATE_ROLES)
        if conn.execute(DATABASE_EXISTS, (database,)).fetchone() is None:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                    sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                )
            )
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
        conn.execute(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(APP_ROLE)
            )
        )


def main() -> None:
    if len(sys.argv) not in (2, 3):
        raise SystemExit("usage: python -m core_api.db.provision SUPERUSER_URL [DATABASE_NAME]")
    provision(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "rehab")


if __name__ == "__main__":
    main()

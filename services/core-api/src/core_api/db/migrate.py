"""Apply the numbered SQL files in ``migrations/`` in order, each once, under an advisory lock.

Each file runs in its own transaction together with the row that records it in ``schema_migrations``,
so a failed migration leaves nothing behind and is retried whole next time. Concurrent runners (two
rollouts, a Job retried by Kubernetes) serialise on a PostgreSQL advisory lock; the second one finds
nothing left to do. A file changed after it was applied is refused: fix forward with a new file.
Usage: ``python -m core_api.db.migrate`` (reads MIGRATIONS_DATABASE_URL, else DATABASE_URL).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
import structlog
from psycopg import sql
from service_common.logging import configure_logging

from core_api.settings import load_settings

log = structlog.get_logger("migrate")

# Any constant works; it only has to differ from other advisory locks taken on the same database.
MIGRATION_LOCK_KEY = 0x7265_6861_6231
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
APPLIED = "SELECT version, checksum FROM schema_migrations"
RECORD = "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)"


class MigrationError(RuntimeError):
    """The migrations on disk and those recorded in the database disagree."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover() -> list[Migration]:
    """Every migration file shipped with the package, ordered by version."""
    found: list[Migration] = []
    for entry in resources.files("core_api.db").joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match["version"]), match["name"], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version: {versions}")
    return found


def migrate(conninfo: str, owner_role: str = "rehab_owner") -> list[int]:
    """Apply every pending migration as ``owner_role``; return the versions applied by this call."""
    applied_now: list[int] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner_role)))
            conn.execute(CREATE_LEDGER)
            recorded: dict[int, str] = dict(conn.execute(APPLIED).fetchall())
            for migration in discover():
                if migration.version in recorded:
                    if recorded[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version:04d}_{migration.name} changed after it was applied"
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(RECORD, (migration.version, migration.name, migration.checksum))
                log.info("migration.applied", version=migration.version, name=migration.name)
                applied_now.append(migration.version)
        finally:
            conn.execute("RESET ROLE")
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log)
    url = settings.migrations.database_url or settings.database.url
    if not url:
        raise SystemExit("set MIGRATIONS_DATABASE_URL or DATABASE_URL")
    applied = migrate(url, settings.migrations.owner_role)
    log.info("migrations.done", applied=applied)


if __name__ == "__main__":
    main()

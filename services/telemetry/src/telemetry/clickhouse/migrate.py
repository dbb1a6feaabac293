"""Apply the numbered ClickHouse DDL files in ``migrations/`` to a store, each once.

The same files run on ClickHouse 18.16 (the Debian server) and on chdb's 26.x: a file uses the macros
``{timestamp_ms}`` and ``{lc_string}`` for column types whose best form depends on the engine, and marks a
statement with a ``-- requires: FEATURE`` line when only newer engines can run it (TTL). Every statement
is idempotent (``IF NOT EXISTS``, ``MODIFY TTL``), so a run interrupted half-way is finished by the next
one; ClickHouse has no transactions or advisory locks, so production runs migrations from one Job.
Usage: ``python -m telemetry.clickhouse.migrate`` (reads the CLICKHOUSE_* settings).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import structlog
from service_common.logging import configure_logging

from telemetry.clickhouse.open import open_store
from telemetry.clickhouse.store import ClickHouseStore, ServerFeatures
from telemetry.settings import load_settings

log = structlog.get_logger("clickhouse.migrate")

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
_REQUIRES = re.compile(r"^--\s*requires:\s*(?P<feature>[a-z0-9_]+)\s*$", re.MULTILINE)
_STATEMENT_END = re.compile(r";\s*$", re.MULTILINE)

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime('UTC')
) ENGINE = MergeTree ORDER BY version
"""


class MigrationError(RuntimeError):
    """A migration file is malformed or names a feature this runner does not know."""


@dataclass(frozen=True)
class Statement:
    sql: str
    requires: str | None


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def statements(self) -> list[Statement]:
        """The file's statements in order, each with the feature it requires, if any."""
        result: list[Statement] = []
        for chunk in _STATEMENT_END.split(self.text):
            requires = _REQUIRES.search(chunk)
            lines = [line for line in chunk.splitlines() if not line.lstrip().startswith("--")]
            body = "\n".join(lines).strip()
            if body:
                result.append(Statement(body, requires["feature"] if requires else None))
        return result


def discover() -> list[Migration]:
    """Every migration file shipped with the package, ordered by version."""
    found = []
    for entry in resources.files("telemetry.clickhouse").joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def render(statement: Statement, features: ServerFeatures) -> str | None:
    """The statement's SQL for an engine with ``features``; ``None`` when the engine cannot run it."""
    if statement.requires is not None:
        if not hasattr(ServerFeatures, statement.requires):
            raise MigrationError(f"unknown feature in '-- requires: {statement.requires}'")
        if not getattr(features, statement.requires):
            return None
    macros = {
        "{timestamp_ms}": "DateTime64(3, 'UTC')" if features.datetime64 else "DateTime('UTC')",
        "{lc_string}": "LowCardinality(String)" if features.low_cardinality else "String",
    }
    sql = statement.sql
    for macro, value in macros.items():
        sql = sql.replace(macro, value)
    if "{" in sql and re.search(r"\{[a-z_]+\}", sql):
        raise MigrationError(f"unknown macro in statement: {sql[:80]}")
    return sql


async def migrate(store: ClickHouseStore) -> list[int]:
    """Apply every pending migration to ``store``; return the versions applied by this call."""
    features = ServerFeatures.parse(await store.server_version())
    await store.execute(CREATE_LEDGER)
    applied = {int(row["version"]) for row in await store.select("SELECT version FROM schema_migrations")}
    applied_now = []
    for migration in discover():
        if migration.version in applied:
            continue
        for statement in migration.statements():
            sql = render(statement, features)
            if sql is not None:
                await store.execute(sql)
        await store.insert(
            "schema_migrations",
            {
                "version": [migration.version],
                "name": [migration.name],
                "checksum": [migration.checksum],
                "applied_at": [datetime.now(UTC).replace(microsecond=0)],
            },
        )
        log.info("clickhouse.migration.applied", version=migration.version, name=migration.name)
        applied_now.append(migration.version)
    return applied_now


async def _main() -> None:
    settings = load_settings()
    configure_logging(settings.log)
    store = open_store(settings.clickhouse)
    try:
        applied = await migrate(store)
    finally:
        await store.close()
    log.info("clickhouse.migrations.done", backend=store.backend, applied=applied)


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()

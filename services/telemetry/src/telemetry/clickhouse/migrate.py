"""Apply the numbered ClickHouse DDL files in ``migrations/`` to a store, each once.

The same files run on ClickHouse 18.16 (the Debian server) and on chdb's 26.x: a file uses the macros
``{timestamp_ms}`` and ``{lc_string}`` for column types whose best form depends on the engine, and marks a
statement with a ``-- requires: FEATURE`` line when only newer engines can run it (TTL). A run interrupted
half-way is finished by the next one: ``CREATE ... IF NOT EXISTS``, ``MODIFY COLUMN`` and ``MODIFY TTL``
can run again as they are, and ClickHouse 18.16 has no ``ADD COLUMN IF NOT EXISTS`` (a syntax error there),
so the runner leaves out of an ``ALTER TABLE`` each ``ADD COLUMN`` whose column the table already has, and
the whole statement when nothing is left (:func:`unapplied`). A migration therefore writes a plain
``ADD COLUMN``. ClickHouse has no transactions or advisory locks, so production runs migrations from one
Job.

Cluster mode (CLICKHOUSE_CLUSTER names a cluster of the server's ``remote_servers``): the same files are
rewritten per statement, so the single-node DDL stays exactly as written. ``CREATE TABLE t ... ENGINE =
MergeTree`` becomes ``t_local``, a ReplicatedMergeTree on every host (``ON CLUSTER``, Keeper path per
shard), plus ``t``, a Distributed table over it sharded by ``cityHash64(actor_hash)`` (one person's rows
on one shard: a view's or a session's rows are read, and erased, together), or by ``cityHash64(batch_id)``
for a table without ``actor_hash`` (the idempotency ledger). ``ALTER TABLE t`` goes to ``t_local ON
CLUSTER``, and to ``t`` too unless it is about TTL (a Distributed table stores nothing, but its columns
must follow the local table's; on 18.16, which refuses that ALTER, ``t`` is created again over the
altered ``t_local``). Column comments are left out where the engine cannot replicate them (18.16). The
service keeps writing to and reading from ``t``, now the Distributed table; a batch comes from one actor,
so its rows all land on one shard and the spool's per-batch "already stored?" lookups stay exact.
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
from telemetry.clickhouse.sql import render as render_query
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

LOCAL_SUFFIX = "_local"
_CREATE_TABLE = re.compile(
    r"^CREATE TABLE IF NOT EXISTS (?P<table>\w+) (?P<body>\(.*\))\s*ENGINE\s*=\s*MergeTree(?:\(\))?(?P<rest>.*)$",
    re.DOTALL,
)
_ALTER_TABLE = re.compile(r"^ALTER TABLE (?P<table>\w+)\s+(?P<rest>.*)$", re.DOTALL)
_TTL = re.compile(r"\bTTL\b")
_ALTERED = re.compile(
    r"^ALTER TABLE (?:(?P<database>\w+)\.)?(?P<table>\w+)(?P<cluster>\s+ON CLUSTER \w+)?\s+(?P<actions>.*)$", re.DOTALL
)
_ADD_COLUMN = re.compile(r"^ADD COLUMN\s+(?P<column>\w+)\s")
_BATCH_ID_COLUMN = re.compile(r"^\s*\(?\s*batch_id\s+UUID\b", re.MULTILINE)
_ACTOR_HASH_COLUMN = re.compile(r"^\s*\(?\s*actor_hash\s+String\b", re.MULTILINE)
_COLUMN_COMMENT = re.compile(r"\s+COMMENT\s+'(?:[^'\\]|\\.)*'")
_TABLE_COLUMNS = "SELECT name FROM system.columns WHERE database = {database} AND table = {table}"


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


def _sharding_key(body: str) -> str:
    """The sharding key of the Distributed table over a table with the columns ``body`` declares."""
    if _ACTOR_HASH_COLUMN.search(body):
        return "cityHash64(actor_hash)"
    return "cityHash64(batch_id)" if _BATCH_ID_COLUMN.search(body) else "rand()"


def _created_body(table: str) -> str:
    """The column list the migrations create ``table`` with."""
    for migration in discover():
        for statement in migration.statements():
            if (created := _CREATE_TABLE.match(statement.sql)) and created["table"] == table:
                return created["body"]
    raise MigrationError(f"no migration creates {table}")


def _distributed(cluster: str, database: str, table: str, body: str) -> str:
    local = table + LOCAL_SUFFIX
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table} ON CLUSTER {cluster} AS {database}.{local}\n"
        f"ENGINE = Distributed({cluster}, {database}, {local}, {_sharding_key(body)})"
    )


def for_cluster(sql: str, cluster: str, database: str, *, alter_distributed: bool = True) -> list[str]:
    """The statements that do what the single-node ``sql`` does on every host of ``cluster``.
    ``alter_distributed``: the engine takes ``ALTER ... ON CLUSTER`` of a Distributed table; 18.16 refuses
    it when shards replicate internally, so there the Distributed table is dropped and created again over
    the altered local table (it stores nothing: inserts are synchronous, see docs/operations.md)."""
    on_cluster = f"ON CLUSTER {cluster}"
    if sql.startswith("CREATE DATABASE IF NOT EXISTS "):
        return [f"{sql} {on_cluster}"]
    if created := _CREATE_TABLE.match(sql):
        table, local = created["table"], created["table"] + LOCAL_SUFFIX
        # {shard} and {replica} are the server's macros (the Altinity operator defines them per host).
        engine = f"ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{database}/{local}', '{{replica}}')"
        return [
            f"CREATE TABLE IF NOT EXISTS {database}.{local} {on_cluster} {created['body']}\n"
            f"ENGINE = {engine}{created['rest']}",
            _distributed(cluster, database, table, created["body"]),
        ]
    if altered := _ALTER_TABLE.match(sql):
        table, rest = altered["table"], altered["rest"]
        local = [f"ALTER TABLE {database}.{table}{LOCAL_SUFFIX} {on_cluster} {rest}"]
        if _TTL.search(rest):
            return local
        if not alter_distributed:
            recreated = _distributed(cluster, database, table, _created_body(table))
            return [*local, f"DROP TABLE IF EXISTS {database}.{table} {on_cluster}", recreated]
        return [*local, f"ALTER TABLE {database}.{table} {on_cluster} {rest}"]
    raise MigrationError(f"no cluster form for statement: {sql[:80]}")


def plan(migration: Migration, features: ServerFeatures, cluster: str = "", database: str = "") -> list[str]:
    """The statements that apply ``migration`` to an engine with ``features``; with ``cluster`` set,
    their cluster form (see the module docstring) for tables in ``database``."""
    statements = [sql for statement in migration.statements() if (sql := render(statement, features)) is not None]
    if not cluster:
        return statements
    if not features.replicated_column_comments:
        statements = [_COLUMN_COMMENT.sub("", sql) for sql in statements]
    return [
        clustered
        for sql in statements
        for clustered in for_cluster(sql, cluster, database, alter_distributed=features.alter_distributed_on_cluster)
    ]


def alter_actions(actions: str) -> list[str]:
    """The comma-separated actions of an ``ALTER TABLE``, split at the commas outside parentheses and
    quoted strings (an ``Enum8('a' = 1, 'b' = 2)`` or a ``DateTime64(3, 'UTC')`` keeps its commas)."""
    parts: list[str] = []
    depth, start, quoted, escaped = 0, 0, False, False
    for index, char in enumerate(actions):
        if quoted:
            escaped, quoted = (False, True) if escaped else (char == "\\", char != "'")
        elif char == "'":
            quoted = True
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(actions[start:index].strip())
            start = index + 1
    parts.append(actions[start:].strip())
    return parts


async def unapplied(store: ClickHouseStore, sql: str) -> str | None:
    """``sql`` without the ``ADD COLUMN`` actions whose column its table already has (a run that stopped
    after them), ``None`` when no action is left; any other statement unchanged. In cluster form the host
    the store talks to stands for every host, since ``ON CLUSTER`` applies an ALTER to all of them."""
    altered = _ALTERED.match(sql)
    if altered is None:
        return sql
    actions = alter_actions(altered["actions"])
    if not any(_ADD_COLUMN.match(action) for action in actions):
        return sql
    rows = await store.select(
        render_query(_TABLE_COLUMNS, database=altered["database"] or store.database, table=altered["table"])
    )
    existing = {row["name"] for row in rows}
    left = [action for action in actions if not ((added := _ADD_COLUMN.match(action)) and added["column"] in existing)]
    if not left:
        return None
    if len(left) == len(actions):
        return sql
    return sql[: altered.start("actions")] + ",\n    ".join(left)


async def record(store: ClickHouseStore, migration: Migration) -> None:
    """Note in the ledger that ``migration`` is applied."""
    await store.insert(
        "schema_migrations",
        {
            "version": [migration.version],
            "name": [migration.name],
            "checksum": [migration.checksum],
            "applied_at": [datetime.now(UTC).replace(microsecond=0)],
        },
    )


async def migrate(store: ClickHouseStore, cluster: str = "") -> list[int]:
    """Apply every pending migration to ``store`` (on every host of ``cluster`` when it is set); return
    the versions applied by this call."""
    features = ServerFeatures.parse(await store.server_version())
    if cluster:
        for sql in for_cluster(f"CREATE DATABASE IF NOT EXISTS {store.database}", cluster, store.database):
            await store.execute(sql)
    for sql in for_cluster(CREATE_LEDGER.strip(), cluster, store.database) if cluster else [CREATE_LEDGER]:
        await store.execute(sql)
    applied = {int(row["version"]) for row in await store.select("SELECT version FROM schema_migrations")}
    applied_now = []
    for migration in discover():
        if migration.version in applied:
            continue
        for planned in plan(migration, features, cluster, store.database):
            if (pending := await unapplied(store, planned)) is not None:
                await store.execute(pending)
        await record(store, migration)
        log.info("clickhouse.migration.applied", version=migration.version, name=migration.name)
        applied_now.append(migration.version)
    return applied_now


async def _main() -> None:
    settings = load_settings()
    configure_logging(settings.log)
    cluster = settings.clickhouse.cluster
    if cluster and not settings.clickhouse.url:
        raise SystemExit("CLICKHOUSE_CLUSTER needs CLICKHOUSE_URL: the embedded engine is a single node")
    store = open_store(settings.clickhouse)
    try:
        applied = await migrate(store, cluster)
    finally:
        await store.close()
    log.info("clickhouse.migrations.done", backend=store.backend, cluster=cluster or None, applied=applied)


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()

"""The PostgreSQL migration runner: idempotent, ordered, locked, and refusing edited history."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from core_api.db import migrate as migrate_module
from core_api.db.migrate import Migration, MigrationError, discover, migrate
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from tools.databases import PostgresUrls, with_user_and_database


@pytest.fixture
def empty_database(postgres: PostgresUrls) -> Iterator[str]:
    """A new, empty database owned by the owner role; the owner's URL to it."""
    name = f"empty_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.superuser, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER rehab_owner").format(sql.Identifier(name)))
    yield with_user_and_database(postgres.owner, "rehab_owner", name)
    with psycopg.connect(postgres.superuser, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_versions_are_unique_and_ordered() -> None:
    versions = [m.version for m in discover()]
    assert versions, "no migration files were packaged"
    assert versions == sorted(set(versions))
    assert versions[0] == 1


def test_applies_to_an_empty_database_then_finds_nothing_to_do(empty_database: str) -> None:
    first = migrate(empty_database)
    second = migrate(empty_database)

    assert first == [m.version for m in discover()]
    assert second == []
    with psycopg.connect(empty_database) as conn:
        recorded = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert recorded == first
    assert {"organizations", "users", "schema_migrations"} <= tables


def test_concurrent_runners_apply_each_migration_once(empty_database: str) -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate(empty_database))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    applied = sorted(v for result in results for v in result)
    assert applied == [m.version for m in discover()]


def test_a_migration_edited_after_it_was_applied_is_refused(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(empty_database)
    original = discover()
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited\n") for m in original]
    monkeypatch.setattr(migrate_module, "discover", lambda: edited)

    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(empty_database)


def test_a_failing_migration_leaves_nothing_behind(empty_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate(empty_database)
    broken = Migration(9999, "broken", "CREATE TABLE half_done (id int); SELECT 1/0;")
    monkeypatch.setattr(migrate_module, "discover", lambda: [*discover(), broken])

    with pytest.raises(psycopg.errors.DivisionByZero):
        migrate(empty_database)

    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM schema_migrations WHERE version = 9999").fetchone() == (0,)


def test_snapshots_published_before_0018_get_their_exercises_video_and_steps(
    empty_database: str, postgres: PostgresUrls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrate_module, "discover", lambda: [m for m in discover() if m.version < 18])
    migrate(empty_database)
    superuser = make_conninfo(postgres.superuser, dbname=conninfo_to_dict(empty_database)["dbname"])
    with psycopg.connect(superuser, autocommit=True) as conn:
        exercise = conn.execute(
            "INSERT INTO exercises (name, published, video_url, instructions) "
            "VALUES ('Quad Set', true, 'https://videos.example/quad.mp4', E'1. Lie down\\n\\n  - Tighten  ') "
            "RETURNING id"
        ).fetchone()
        plan = conn.execute(
            "INSERT INTO treatment_plans (name, type, frequency_per_week, duration_weeks) "
            "VALUES ('Knee', 'telerehab', 3, 4) RETURNING id"
        ).fetchone()
        assert exercise is not None
        assert plan is not None
        entry = {"exercise_id": str(exercise[0]), "exercise": {"id": str(exercise[0]), "name": "Quad Set"}}
        snapshot = {"name": "Knee", "sessions": [{"session_number": 1, "exercises": [entry]}]}
        conn.execute(
            "INSERT INTO treatment_plan_versions (treatment_plan_id, version, name, type, frequency_per_week, "
            "duration_weeks, sessions_count, snapshot) VALUES (%s, 1, 'Knee', 'telerehab', 3, 4, 1, %s)",
            (plan[0], Jsonb(snapshot)),
        )
    monkeypatch.undo()

    assert migrate(empty_database) == [m.version for m in discover() if m.version >= 18]
    with psycopg.connect(superuser) as conn:
        row = conn.execute("SELECT snapshot FROM treatment_plan_versions").fetchone()
    assert row is not None
    [session] = row[0]["sessions"]
    assert session["exercises"][0]["exercise"] == {
        "id": str(exercise[0]),
        "name": "Quad Set",
        "video_url": "https://videos.example/quad.mp4",
        "instructions": ["Lie down", "Tighten"],
    }
    assert row[0]["name"] == "Knee"

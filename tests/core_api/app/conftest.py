"""Fixtures of the whole-app tests: one app per module for checks that read nothing, an organization seeded
once per module, and the world the write routes are called in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from core_api.app import create_app
from litestar.testing import TestClient
from service_common.auth.settings import AuthSettings

from tests.conftest import telemetry_token_settings
from tests.core_api.helpers.execution import enroll, start
from tests.core_api.helpers.plans import create_plan
from tests.core_api.helpers.responses import Client
from tests.core_api.helpers.sessions import add_exercise, add_session
from tests.core_api.helpers.settings import LOOPBACK_WEBHOOKS, app_settings
from tests.core_api.helpers.world import MINIMAL_BODIES, World
from tests.core_api.seed import Org, seed_organization
from tools.databases import PostgresUrls


@pytest.fixture(scope="module")
def client(postgres: PostgresUrls, auth_settings: AuthSettings) -> Iterator[Client]:
    """One app for the whole module: its checks read nothing, so they need no fresh state."""
    with TestClient(create_app(app_settings(postgres, auth_settings))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def module_org(request: pytest.FixtureRequest, postgres: PostgresUrls, dev_keys: Path) -> Org:
    """An organization seeded once for the module, named after it."""
    with psycopg.connect(postgres.superuser, autocommit=True) as conn:
        return seed_organization(conn, dev_keys, request.module.__name__.rpartition(".")[2])


@pytest.fixture(scope="module")
def world(postgres: PostgresUrls, auth_settings: AuthSettings, dev_keys: Path) -> Iterator[World]:
    """The write routes' world (tests/core_api/helpers/world.py), with autovacuum off while it lasts."""
    settings = app_settings(
        postgres, auth_settings, automation=LOOPBACK_WEBHOOKS, telemetry_token=telemetry_token_settings(dev_keys)
    )
    with psycopg.connect(postgres.superuser, autocommit=True) as conn, TestClient(create_app(settings)) as client:
        org = seed_organization(conn, dev_keys, "Bad Input Clinic")
        draft = create_plan(client, org)
        session = add_session(client, org, draft["id"], "S1")
        session_exercise = add_exercise(client, org, session["id"], org.exercises[0])
        enrollment = enroll(client, conn, org)
        started = start(client, org, enrollment["id"], 1)
        assert started.status_code == 201, started.text
        completion = started.json()
        rule = client.post(
            "/v1/automation/rules", json=MINIMAL_BODIES["AutomationRuleCreate"], headers=org.headers("admin")
        )
        assert rule.status_code == 201, rule.text
        form_instance = conn.execute(
            "INSERT INTO form_instances (organization_id, patient_id, form_template_id) VALUES (%s, %s, %s) "
            "RETURNING id",
            (org.id, org.patient, org.form_template),
        ).fetchone()
        assert form_instance is not None
        params = {
            "plan_id": str(draft["id"]),
            "session_id": str(session["id"]),
            "session_exercise_id": str(session_exercise["id"]),
            "patient_id": str(org.patient),
            "exercise_id": str(org.exercises[0]),
            "enrollment_id": str(enrollment["id"]),
            "session_number": "2",
            "version": "1",
            "log_id": str(completion["exercise_logs"][0]["id"]),
            "completion_id": str(completion["id"]),
            "instance_id": str(form_instance[0]),
            "rule_id": str(rule.json()["id"]),
            "delivery_id": "987654321",
            "user_id": str(org.admin_user),
            "specialist_id": str(org.specialist),
        }
        # "Wrote nothing" counts every transaction of the cluster that committed during a request, and an
        # autovacuum ANALYZE commits one too (it was seen failing a refused request in a full run): the
        # module runs with autovacuum off, once the workers already running are done.
        conn.execute("ALTER SYSTEM SET autovacuum = off")
        conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
        ).fetchone() != (0,):
            time.sleep(0.2)
        try:
            yield World(client, org, postgres, params)
        finally:
            conn.execute("ALTER SYSTEM RESET autovacuum")
            conn.execute("SELECT pg_reload_conf()")

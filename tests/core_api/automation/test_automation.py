"""Automations: rules, the dispatcher's deliveries (webhooks and require_form), retries, order and crashes.

Webhooks go to a real HTTP server on loopback that records what it receives and fails on command (loopback
is reachable only because the tests allow 127.0.0.0/8 with AUTOMATION_WEBHOOK_ALLOWED_CIDRS); the
dispatcher runs against the test PostgreSQL as the app role, one pass at a time in process, or as the real
``python -m core_api.automation.dispatcher`` process for the crash test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from contracts.automation import AutomationRuleCreate
from core_api.app import create_app
from core_api.automation import destinations
from core_api.automation.dispatch import PassResult, backoff_seconds, dispatch_once, webhook_client
from core_api.automation.service import _rule_errors
from core_api.automation.signing import new_secret
from core_api.settings import (
    AutomationSettings,
    DatabaseSettings,
    DispatcherSettings,
)
from litestar.testing import TestClient
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from service_common.auth.settings import AuthSettings
from service_common.settings import SettingsError, from_env

from tests.conftest import telemetry_token_settings
from tests.core_api.helpers.execution import complete, enroll, start
from tests.core_api.helpers.responses import Client, ok
from tests.core_api.helpers.settings import app_settings
from tests.core_api.seed import Org
from tools.databases import PostgresUrls

LOOPBACK = ["127.0.0.0/8", "::1/128"]
FAST = AutomationSettings(
    backoff_base_seconds=0.05, backoff_max_seconds=0.2, allow_http_webhooks=True, webhook_allowed_cidrs=LOOPBACK
)
DISPATCHER = DispatcherSettings(lease_seconds=5.0)


# A webhook receiver ---------------------------------------------------------------------------------------


@dataclass
class Received:
    message_id: str
    timestamp: str
    signature: str
    body: bytes
    answered: int
    host: str = ""

    @property
    def event_id(self) -> int:
        return int(self.message_id.removeprefix("evt_"))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    fail_first: int = 0
    """Answer 500 to this many requests before answering 204."""
    always_fail: bool = False
    delay_seconds: float = 0.0

    @property
    def port(self) -> str:
        return self.url.split(":")[2].split("/")[0]

    def delivered_event_ids(self) -> list[int]:
        return [each.event_id for each in self.received if each.answered == 204]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    lock = threading.Lock()
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            time.sleep(state.delay_seconds)
            with lock:
                failing = state.always_fail or state.fail_first > 0
                state.fail_first = max(state.fail_first - 1, 0)
                status = 500 if failing else 204
                state.received.append(
                    Received(
                        self.headers["webhook-id"],
                        self.headers["webhook-timestamp"],
                        self.headers["webhook-signature"],
                        body,
                        status,
                        self.headers["host"],
                    )
                )
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def signature_valid(secret: str, received: Received) -> bool:
    """What a receiver checks (Standard Webhooks): HMAC-SHA256 of ``id.timestamp.body`` with the secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{received.message_id}.{received.timestamp}.".encode() + received.body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, received.signature)


# Running the dispatcher -------------------------------------------------------------------------------------


def drain(postgres: PostgresUrls, settings: AutomationSettings = FAST, seconds: float = 20.0) -> list[PassResult]:
    """Dispatch passes until nothing is pending and due soon (waiting out backoffs), at most ``seconds``."""

    async def run() -> list[PassResult]:
        pool = await app_pool(postgres)
        passes = []
        try:
            async with webhook_client(settings) as client:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    done = await dispatch_once(pool, client, settings, DISPATCHER)
                    passes.append(done)
                    if done.fanned_out == 0 and done.delivered == 0 and done.failed == 0:
                        if not pending_soon(postgres):
                            return passes
                        await asyncio.sleep(0.05)
        finally:
            await pool.close()
        raise AssertionError("deliveries still pending after the drain's time limit")

    return asyncio.run(run())


async def app_pool(postgres: PostgresUrls) -> AsyncConnectionPool[AsyncConnection]:
    pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
        DatabaseSettings(url=postgres.app).url, min_size=1, max_size=4, open=False
    )
    await pool.open()
    return pool


def one_pass(postgres: PostgresUrls, settings: AutomationSettings) -> PassResult:
    """A single dispatch pass, whatever it leaves pending."""

    async def run() -> PassResult:
        pool = await app_pool(postgres)
        try:
            async with webhook_client(settings) as client:
                return await dispatch_once(pool, client, settings, DISPATCHER)
        finally:
            await pool.close()

    return asyncio.run(run())


def pending_soon(postgres: PostgresUrls) -> bool:
    with psycopg.connect(postgres.superuser) as conn:
        row = conn.execute(
            "SELECT count(*) FROM automation_deliveries WHERE status = 'pending' "
            "AND next_attempt_at < now() + interval '5 seconds'"
        ).fetchone()
    return bool(row and row[0])


def add_rule(client: Client, org: Org, **body: Any) -> Any:
    return ok(client.post("/v1/automation/rules", json=body, headers=org.headers("admin")), 201)


def deliveries(client: Client, org: Org, **params: Any) -> list[Any]:
    body = ok(client.get("/v1/automation/deliveries", params=params, headers=org.headers("admin")))
    items: list[Any] = body["deliveries"]
    return items


def dead_after_one_attempt(client: Client, org: Org) -> str:
    """The last error of the organization's one delivery, after checking it died at its first attempt."""
    [dead] = deliveries(client, org)
    assert (dead["status"], dead["attempts"]) == ("dead", 1)
    return str(dead["last_error"])


def fire(conn: psycopg.Connection, org: Org, event_type: str, enrollment_id: int, **payload: Any) -> int:
    """An outbox event about the enrollment, written as the product writes it."""
    row = conn.execute(
        "INSERT INTO automation_events (organization_id, event_type, entity_type, entity_id, payload) "
        "VALUES (%s, %s, 'patient_treatment_plan', %s, %s) RETURNING id",
        (org.id, event_type, str(enrollment_id), Jsonb({"patient_treatment_plan_id": enrollment_id, **payload})),
    ).fetchone()
    assert row is not None
    return int(row[0])


# Rules ------------------------------------------------------------------------------------------------------


def test_admins_create_list_and_disable_rules(core_api: Client, org: Org, other_org: Org) -> None:
    created = add_rule(
        core_api, org, event_type="treatment_plan.assigned", action="webhook", webhook_url="http://127.0.0.1:9/x"
    )
    assert created["signing_secret"].startswith("whsec_")
    assert len(base64.b64decode(created["signing_secret"].removeprefix("whsec_"))) == 32
    listed = ok(core_api.get("/v1/automation/rules", headers=org.headers("admin")))["rules"]
    assert [rule["id"] for rule in listed] == [created["id"]]
    assert "signing_secret" not in listed[0]
    disabled = ok(
        core_api.patch(f"/v1/automation/rules/{created['id']}", json={"enabled": False}, headers=org.headers("admin"))
    )
    assert disabled["enabled"] is False
    # Another organization neither sees nor changes it.
    assert ok(core_api.get("/v1/automation/rules", headers=other_org.headers("admin")))["rules"] == []
    response = core_api.patch(
        f"/v1/automation/rules/{created['id']}", json={"enabled": True}, headers=other_org.headers("admin")
    )
    assert response.status_code == 404
    for role in ("specialist", "patient"):
        assert core_api.get("/v1/automation/rules", headers=org.headers(role)).status_code == 403


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        ({"event_type": "treatment_plan.assigned", "action": "webhook"}, "webhook_url"),
        ({"event_type": "treatment_plan.assigned", "action": "require_form"}, "form_template_id"),
        (
            {
                "event_type": "treatment_plan.assigned",
                "action": "require_form",
                "form_template_id": 1,
                "webhook_url": "https://example.org/hook",
            },
            "webhook_url",
        ),
        ({"event_type": "treatment_plan.renamed", "action": "webhook", "webhook_url": "https://x.org"}, "event_type"),
        ({"event_type": "treatment_plan.assigned", "action": "email", "webhook_url": "https://x.org"}, "action"),
        (
            {"event_type": "treatment_plan.assigned", "action": "require_form", "form_template_id": 2**52},
            "form_template_id",
        ),
    ],
)
def test_invalid_rules_are_422_naming_the_field(
    core_api: Client, org: Org, body: dict[str, Any], field_name: str
) -> None:
    response = core_api.post("/v1/automation/rules", json=body, headers=org.headers("admin"))
    assert response.status_code == 422, response.text
    assert field_name in response.text
    assert ok(core_api.get("/v1/automation/rules", headers=org.headers("admin")))["rules"] == []


def test_plain_http_webhooks_need_the_development_setting() -> None:
    rule = msgspec.convert(
        {"event_type": "treatment_plan.assigned", "action": "webhook", "webhook_url": "http://x.org/h"},
        AutomationRuleCreate,
    )
    [error] = _rule_errors(rule, AutomationSettings())
    assert error.field == "webhook_url"
    assert _rule_errors(rule, AutomationSettings(allow_http_webhooks=True)) == []


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter() -> None:
    settings = AutomationSettings(backoff_base_seconds=5, backoff_max_seconds=60)
    for attempts, nominal in [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (9, 60)]:
        delays = [backoff_seconds(attempts, settings) for _ in range(50)]
        assert all(nominal * 0.8 <= delay <= nominal * 1.2 for delay in delays), (attempts, delays)


# Delivery ---------------------------------------------------------------------------------------------------


def test_the_flow_reaches_a_webhook_signed_and_in_order(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, receiver: Receiver
) -> None:
    rules = [
        add_rule(core_api, org, event_type=event, action="webhook", webhook_url=receiver.url)
        for event in ("treatment_plan.assigned", "treatment_plan.session_completed")
    ]
    enrollment = enroll(core_api, superuser, org)
    for number in (1, 2):
        started = ok(start(core_api, org, enrollment["id"], number, pain_level_before=3), 201)
        ok(complete(core_api, org, started["id"], pain_level_after=2))
    drain(postgres)

    assert [each.answered for each in receiver.received] == [204, 204, 204]
    bodies = [each.json() for each in receiver.received]
    assert [body["type"] for body in bodies] == [
        "treatment_plan.assigned",
        "treatment_plan.session_completed",
        "treatment_plan.session_completed",
    ]
    assert all(body["data"]["payload"]["patient_treatment_plan_id"] == enrollment["id"] for body in bodies)
    assert [body["data"]["payload"].get("session_number") for body in bodies] == [None, 1, 2]
    ids = receiver.delivered_event_ids()
    assert ids == sorted(ids)
    secrets_by_type = {rule["event_type"]: rule["signing_secret"] for rule in rules}
    for each, body in zip(receiver.received, bodies, strict=True):
        assert signature_valid(secrets_by_type[body["type"]], each)
        assert not signature_valid(
            secrets_by_type[body["type"]], Received(**{**each.__dict__, "body": each.body + b" "})
        )

    listed = deliveries(core_api, org)
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in listed] == [("delivered", 1, 204)] * 3
    assert {d["event_id"] for d in listed} == set(ids)
    # Nothing is delivered twice: another pass finds no work.
    drain(postgres)
    assert len(receiver.received) == 3


def test_failures_back_off_and_hold_back_later_events_of_the_same_enrollment(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, receiver: Receiver
) -> None:
    add_rule(core_api, org, event_type="treatment_plan.session_completed", action="webhook", webhook_url=receiver.url)
    first = fire(superuser, org, "treatment_plan.session_completed", 900001, session_number=1)
    second = fire(superuser, org, "treatment_plan.session_completed", 900001, session_number=2)
    other = fire(superuser, org, "treatment_plan.session_completed", 900002, session_number=1)
    receiver.fail_first = 3
    drain(postgres)

    attempts = [(each.event_id, each.answered) for each in receiver.received]
    # The other enrollment is not held back by this one's failures; this one's second event waits for its first.
    this_enrollment = [pair for pair in attempts if pair[0] in (first, second)]
    first_ok = this_enrollment.index((first, 204))
    assert all(event == first for event, _ in this_enrollment[: first_ok + 1])
    assert this_enrollment[first_ok + 1 :] == [(second, 204)]
    assert (other, 204) in attempts
    by_event = {d["event_id"]: d for d in deliveries(core_api, org)}
    assert by_event[first]["attempts"] == sum(1 for event, _ in attempts if event == first) >= 2
    assert by_event[first]["last_status_code"] == 204
    assert {d["status"] for d in by_event.values()} == {"delivered"}


def test_a_delivery_dies_after_its_last_attempt_and_an_admin_can_retry_it(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, receiver: Receiver
) -> None:
    add_rule(core_api, org, event_type="treatment_plan.completed", action="webhook", webhook_url=receiver.url)
    event = fire(superuser, org, "treatment_plan.completed", 900003)
    receiver.always_fail = True
    settings = AutomationSettings(
        max_attempts=3,
        backoff_base_seconds=0.02,
        backoff_max_seconds=0.05,
        allow_http_webhooks=True,
        webhook_allowed_cidrs=LOOPBACK,
    )
    drain(postgres, settings)

    [dead] = deliveries(core_api, org, status="dead")
    assert (dead["event_id"], dead["attempts"], dead["last_status_code"], dead["last_error"]) == (
        event,
        3,
        500,
        "HTTP 500",
    )
    assert dead["next_attempt_at"] is None
    assert len(receiver.received) == 3
    assert deliveries(core_api, org, status="pending") == []

    receiver.always_fail = False
    retried = ok(core_api.post(f"/v1/automation/deliveries/{dead['id']}/retry", headers=org.headers("admin")))
    assert (retried["status"], retried["attempts"]) == ("pending", 0)
    again = core_api.post(f"/v1/automation/deliveries/{dead['id']}/retry", headers=org.headers("admin"))
    assert again.status_code == 409
    drain(postgres, settings)
    [delivered] = deliveries(core_api, org)
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 1)
    assert core_api.post("/v1/automation/deliveries/999999999/retry", headers=org.headers("admin")).status_code == 404


def test_require_form_gives_the_patient_the_consent_form_once(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls
) -> None:
    consent = superuser.execute(
        "INSERT INTO form_templates (organization_id, title, kind, schema) VALUES (%s, 'Biometric consent', "
        "'consent', %s) RETURNING id",
        (org.id, Jsonb({"questions": [{"type": "boolean", "id": "consent", "prompt": "I agree to pose tracking"}]})),
    ).fetchone()
    assert consent is not None
    add_rule(core_api, org, event_type="treatment_plan.assigned", action="require_form", form_template_id=consent[0])
    enrollment = enroll(core_api, superuser, org)
    drain(postgres)
    drain(postgres)

    forms = ok(
        core_api.get(
            f"/v1/patients/{org.patient}/form-instances", params={"status": "pending"}, headers=org.headers("patient")
        )
    )["form_instances"]
    given = [form for form in forms if form["form_template_id"] == consent[0]]
    assert len(given) == 1
    assert given[0]["kind"] == "consent"
    [delivery] = deliveries(core_api, org)
    assert (delivery["status"], delivery["action"], delivery["entity_id"]) == (
        "delivered",
        "require_form",
        str(enrollment["id"]),
    )
    audit = superuser.execute(
        "SELECT actor_role, actor_user_id, after ->> 'event_id' FROM audit_log "
        "WHERE action = 'form_instance.required' AND entity_id = %s",
        (str(given[0]["id"]),),
    ).fetchall()
    assert audit == [("system", None, str(delivery["event_id"]))]


def test_an_event_without_a_patient_dies_at_once_for_require_form(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls
) -> None:
    add_rule(core_api, org, event_type="pain.alert", action="require_form", form_template_id=org.form_template)
    fire(superuser, org, "pain.alert", 900004)  # no such enrollment
    drain(postgres)
    assert dead_after_one_attempt(core_api, org) == "the event names no patient"


def test_disabled_rules_and_other_organizations_get_no_deliveries(
    core_api: Client,
    org: Org,
    other_org: Org,
    superuser: psycopg.Connection,
    postgres: PostgresUrls,
    receiver: Receiver,
) -> None:
    rule = add_rule(core_api, org, event_type="treatment_plan.activated", action="webhook", webhook_url=receiver.url)
    ok(core_api.patch(f"/v1/automation/rules/{rule['id']}", json={"enabled": False}, headers=org.headers("admin")))
    fire(superuser, org, "treatment_plan.activated", 900005)
    fire(superuser, other_org, "treatment_plan.activated", 900006)
    drain(postgres)
    assert receiver.received == []
    assert deliveries(core_api, org) == []
    assert deliveries(core_api, other_org) == []


# The dispatcher process ------------------------------------------------------------------------------------


def start_dispatcher(postgres: PostgresUrls, heartbeat: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": postgres.app,
        "DISPATCHER_POLL_INTERVAL_SECONDS": "0.1",
        "DISPATCHER_LEASE_SECONDS": "2",
        "DISPATCHER_BATCH_SIZE": "4",
        "DISPATCHER_HEARTBEAT_FILE": str(heartbeat),
        "AUTOMATION_BACKOFF_BASE_SECONDS": "0.1",
        "AUTOMATION_ALLOW_HTTP_WEBHOOKS": "true",
        "AUTOMATION_WEBHOOK_ALLOWED_CIDRS": "127.0.0.0/8",
        "LOG_LEVEL": "warning",
    }
    return subprocess.Popen([sys.executable, "-m", "core_api.automation.dispatcher"], env=env)


@pytest.mark.processes
def test_a_dispatcher_killed_mid_delivery_loses_nothing_and_keeps_the_order(
    core_api: Client,
    org: Org,
    superuser: psycopg.Connection,
    postgres: PostgresUrls,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    add_rule(core_api, org, event_type="treatment_plan.session_completed", action="webhook", webhook_url=receiver.url)
    events = {
        enrollment: [fire(superuser, org, "treatment_plan.session_completed", enrollment, n=n) for n in range(5)]
        for enrollment in (900010, 900011, 900012)
    }
    receiver.delay_seconds = 0.3
    heartbeat = tmp_path / "heartbeat"
    dispatcher = start_dispatcher(postgres, heartbeat)
    try:
        deadline = time.monotonic() + 30
        while len(receiver.received) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert heartbeat.exists()
        dispatcher.send_signal(signal.SIGKILL)  # mid-delivery: requests are in flight
        dispatcher.wait(timeout=10)
        killed_after = len(receiver.received)
        dispatcher = start_dispatcher(postgres, heartbeat)
        expected = {event for ids in events.values() for event in ids}
        while not expected <= set(receiver.delivered_event_ids()) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        dispatcher.send_signal(signal.SIGTERM)
        assert dispatcher.wait(timeout=15) == 0  # SIGTERM stops it cleanly
    assert expected <= set(receiver.delivered_event_ids()), "an acknowledged event was never delivered"
    assert killed_after < len(receiver.received)
    arrived = len(receiver.received)
    print(  # the figures docs/reliability.md quotes
        f"dispatcher killed after {killed_after} arrivals; {arrived} arrivals in all for {len(expected)} events "
        f"({arrived - len(set(receiver.delivered_event_ids()))} delivered again after the kill)"
    )
    # In order per enrollment: the first time each event arrives follows the event order.
    for ids in events.values():
        arrivals = [each.event_id for each in receiver.received if each.event_id in ids]
        first_seen = list(dict.fromkeys(arrivals))
        assert first_seen == ids, (ids, arrivals)
    states = superuser.execute(
        "SELECT status, count(*) FROM automation_deliveries WHERE organization_id = %s GROUP BY status", (org.id,)
    ).fetchall()
    assert states == [("delivered", 15)]


# Destinations: where a webhook may go (issue 15, item 2) ----------------------------------------------------


@pytest.fixture(scope="module")
def strict_api(postgres: PostgresUrls, auth_settings: AuthSettings, dev_keys: Path) -> Iterator[Client]:
    """core-api with production automation settings (https only, no allowed ranges) and a cap of 3 rules."""
    settings = app_settings(
        postgres,
        auth_settings,
        automation=AutomationSettings(max_rules_per_organization=3),
        telemetry_token=telemetry_token_settings(dev_keys),
    )
    with TestClient(create_app(settings)) as client:
        yield client


REFUSED_URLS = [
    # loopback and "this host", in every spelling a resolver accepts
    "https://127.0.0.1/hook",
    "https://127.0.0.1:8443/hook",
    "https://localhost/hook",
    "https://localhost./hook",
    "https://[::1]/hook",
    "https://0.0.0.0/hook",
    "https://[::]/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://0x7f.0.0.1/hook",
    "https://127.1/hook",
    "https://0177.0.0.1/hook",
    "https://127.0.0.1./hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:7f00:1]/hook",
    "https://[::127.0.0.1]/hook",
    # private, shared, link-local (cloud metadata), multicast, reserved, broadcast, documentation
    "https://10.0.0.1/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "https://255.255.255.255/hook",
    "https://192.0.2.10/hook",
    "https://[fc00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fe80::1%25eth0]/hook",
    "https://[ff02::1]/hook",
    "https://[2001:db8::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    # IPv6 forms that carry an IPv4 address: 6to4, NAT64, Teredo
    "https://[2002:7f00:1::]/hook",
    "https://[64:ff9b::7f00:1]/hook",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
    # user info, control characters, whitespace, backslashes, other schemes
    "https://user:pw@example.org/hook",
    "https://user@example.org/hook",
    "https://example.org/a\r\nX-Injected: 1",
    "https://example.org/a\tb",
    "https://exam ple.org/hook",
    "https://example.org\\@127.0.0.1/hook",
    "http://example.org/hook",
    "ftp://example.org/hook",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_webhook_urls_that_reach_inside_are_422_naming_webhook_url(strict_api: Client, org: Org, url: str) -> None:
    body = {"event_type": "treatment_plan.assigned", "action": "webhook", "webhook_url": url}
    response = strict_api.post("/v1/automation/rules", json=body, headers=org.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {error["field"] for error in response.json()["errors"]} == {"webhook_url"}, response.text
    assert ok(strict_api.get("/v1/automation/rules", headers=org.headers("admin")))["rules"] == []


@pytest.mark.parametrize("url", ["https://93.184.215.14/hook", "https://[2606:4700:4700::1111]:8443/hook"])
def test_public_addresses_are_accepted(strict_api: Client, org: Org, url: str) -> None:
    body = {"event_type": "treatment_plan.assigned", "action": "webhook", "webhook_url": url}
    assert (
        ok(strict_api.post("/v1/automation/rules", json=body, headers=org.headers("admin")), 201)["webhook_url"] == url
    )


@pytest.mark.parametrize(
    ("address", "allowed_cidrs", "allowed"),
    [
        ("93.184.215.14", [], True),
        ("127.0.0.5", [], False),
        ("127.0.0.5", ["127.0.0.0/8"], True),
        ("::ffff:127.0.0.5", ["127.0.0.0/8"], True),
        ("10.1.2.3", ["127.0.0.0/8"], False),
        ("10.1.2.3", ["10.1.0.0/16"], True),
        ("::ffff:8.8.8.8", [], True),
        ("2002:808:808::1", [], False),
        ("fd12::1", ["fd12::/16"], True),
    ],
)
def test_the_allowed_ranges_open_only_themselves(address: str, allowed_cidrs: list[str], allowed: bool) -> None:
    settings = AutomationSettings(webhook_allowed_cidrs=allowed_cidrs)
    assert destinations.address_allowed(ipaddress.ip_address(address), settings) is allowed


def test_an_allowed_range_must_be_a_cidr() -> None:
    with pytest.raises(SettingsError, match="AUTOMATION_WEBHOOK_ALLOWED_CIDRS"):
        from_env(AutomationSettings, "AUTOMATION_", {"AUTOMATION_WEBHOOK_ALLOWED_CIDRS": "127.0.0.1/8"})


def test_a_delivery_is_aimed_at_the_address_it_checked() -> None:
    settings = AutomationSettings(webhook_allowed_cidrs=LOOPBACK)
    target = asyncio.run(destinations.pin("https://localhost:8443/hook?x=1", settings))
    assert str(target.url) == "https://127.0.0.1:8443/hook?x=1"
    assert target.host_header == "localhost:8443"
    assert target.extensions == {"sni_hostname": "localhost"}  # TLS names and verifies the host, not the address


def insert_webhook_rule(conn: psycopg.Connection, org: Org, event_type: str, url: str, secret: str = "") -> int:
    """A rule written straight to the table: as an older version, or another process's settings, let it in."""
    row = conn.execute(
        "INSERT INTO automation_rules (organization_id, event_type, action, webhook_url, signing_secret) "
        "VALUES (%s, %s, 'webhook', %s, %s) RETURNING id",
        (org.id, event_type, url, secret or new_secret()),
    ).fetchone()
    assert row is not None
    return int(row[0])


def this_host_resolves_inside() -> bool:
    """Whether this machine's name resolves (through the system resolver) to addresses that are none public."""
    try:
        answers = socket.getaddrinfo(socket.gethostname(), 80, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return not any(ipaddress.ip_address(answer[4][0]).is_global for answer in answers)


@pytest.mark.parametrize("host", ["localhost", socket.gethostname()], ids=["localhost", "this-host"])
def test_a_name_that_resolves_inside_is_refused_at_delivery(
    core_api: Client,
    org: Org,
    superuser: psycopg.Connection,
    postgres: PostgresUrls,
    receiver: Receiver,
    host: str,
) -> None:
    if host != "localhost" and not this_host_resolves_inside():
        pytest.skip("this machine's name does not resolve to a loopback or private address")
    # The name passed when the rule was made (another answer, another policy); it resolves inside now.
    insert_webhook_rule(superuser, org, "treatment_plan.completed", f"http://{host}:{receiver.port}/hook")
    fire(superuser, org, "treatment_plan.completed", 900030)
    drain(postgres, AutomationSettings(backoff_base_seconds=0.05, allow_http_webhooks=True))
    assert receiver.received == []
    assert dead_after_one_attempt(core_api, org) == "destination not allowed"


def test_a_name_in_an_allowed_range_is_delivered_with_its_own_host_header(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, receiver: Receiver
) -> None:
    insert_webhook_rule(superuser, org, "treatment_plan.completed", f"http://localhost:{receiver.port}/hook")
    fire(superuser, org, "treatment_plan.completed", 900031)
    drain(postgres)
    assert [(each.answered, each.host) for each in receiver.received] == [(204, f"localhost:{receiver.port}")]


def test_the_dispatcher_applies_its_own_scheme_policy(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, receiver: Receiver
) -> None:
    # Made by an API process that allows http; the dispatcher does not.
    add_rule(core_api, org, event_type="treatment_plan.completed", action="webhook", webhook_url=receiver.url)
    fire(superuser, org, "treatment_plan.completed", 900032)
    drain(postgres, AutomationSettings(backoff_base_seconds=0.05, webhook_allowed_cidrs=LOOPBACK))
    assert receiver.received == []
    assert dead_after_one_attempt(core_api, org) == "URL not allowed"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("case", "expected"),
    [("refused", "connection refused"), ("tls", "TLS error"), ("timeout", "timeout"), ("status", "HTTP 500")],
)
def test_last_error_is_a_category_not_exception_text(
    core_api: Client,
    org: Org,
    superuser: psycopg.Connection,
    postgres: PostgresUrls,
    receiver: Receiver,
    case: str,
    expected: str,
) -> None:
    url = {
        "refused": f"http://127.0.0.1:{closed_port()}/hook",
        "tls": receiver.url.replace("http://", "https://"),  # a plain-HTTP server answers the TLS handshake
        "timeout": receiver.url,
        "status": receiver.url,
    }[case]
    receiver.delay_seconds = 1.0 if case == "timeout" else 0.0
    receiver.always_fail = case == "status"
    add_rule(core_api, org, event_type="treatment_plan.completed", action="webhook", webhook_url=url)
    fire(superuser, org, "treatment_plan.completed", 900033)
    settings = AutomationSettings(
        max_attempts=1, webhook_timeout_seconds=0.3, allow_http_webhooks=True, webhook_allowed_cidrs=LOOPBACK
    )
    drain(postgres, settings)
    assert dead_after_one_attempt(core_api, org) == expected


# Rule lifecycle: disabling, deleting, the cap (issue 15, item 3) -----------------------------------------------

SLOW = AutomationSettings(backoff_base_seconds=60, allow_http_webhooks=True, webhook_allowed_cidrs=LOOPBACK)
"""A failed attempt waits a minute: the delivery stays pending, not yet started again."""


def test_disabling_a_rule_cancels_its_pending_deliveries_without_holding_back_others(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, receiver: Receiver
) -> None:
    stopped = add_rule(
        core_api, org, event_type="treatment_plan.session_completed", action="webhook", webhook_url=receiver.url
    )
    add_rule(core_api, org, event_type="treatment_plan.completed", action="webhook", webhook_url=receiver.url)
    first = fire(superuser, org, "treatment_plan.session_completed", 900040, session_number=1)
    receiver.always_fail = True
    one_pass(postgres, SLOW)
    [pending] = deliveries(core_api, org, status="pending")
    assert (pending["event_id"], pending["attempts"]) == (first, 1)

    ok(core_api.patch(f"/v1/automation/rules/{stopped['id']}", json={"enabled": False}, headers=org.headers("admin")))
    [cancelled] = deliveries(core_api, org)
    assert (cancelled["id"], cancelled["status"], cancelled["next_attempt_at"]) == (pending["id"], "cancelled", None)
    # A later event of the same enrollment to the same URL, by another rule, is not held back behind it.
    receiver.always_fail = False
    later = fire(superuser, org, "treatment_plan.completed", 900040)
    drain(postgres)
    assert receiver.delivered_event_ids() == [later]
    assert [each.event_id for each in receiver.received] == [first, later]
    retried = core_api.post(f"/v1/automation/deliveries/{pending['id']}/retry", headers=org.headers("admin"))
    assert retried.status_code == 409, retried.text
    # Enabling the rule again does not revive it; an admin's retry does.
    ok(core_api.patch(f"/v1/automation/rules/{stopped['id']}", json={"enabled": True}, headers=org.headers("admin")))
    assert [d["status"] for d in deliveries(core_api, org, rule_id=stopped["id"])] == ["cancelled"]
    ok(core_api.post(f"/v1/automation/deliveries/{pending['id']}/retry", headers=org.headers("admin")))
    drain(postgres)
    assert receiver.delivered_event_ids() == [later, first]


def test_a_delivery_in_flight_when_its_rule_is_disabled_is_not_attempted_again(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, receiver: Receiver
) -> None:
    rule = add_rule(core_api, org, event_type="treatment_plan.completed", action="webhook", webhook_url=receiver.url)
    fire(superuser, org, "treatment_plan.completed", 900041)
    receiver.always_fail = True
    one_pass(postgres, SLOW)
    # As if an attempt were under way (leased) while the admin disables the rule ...
    superuser.execute(
        "UPDATE automation_deliveries SET leased_until = now() + interval '1 hour' WHERE rule_id = %s", (rule["id"],)
    )
    ok(core_api.patch(f"/v1/automation/rules/{rule['id']}", json={"enabled": False}, headers=org.headers("admin")))
    assert [d["status"] for d in deliveries(core_api, org)] == ["pending"]
    # ... and then fails, due again at once: the next pass cancels it instead of trying.
    superuser.execute(
        "UPDATE automation_deliveries SET leased_until = NULL, next_attempt_at = now() WHERE rule_id = %s",
        (rule["id"],),
    )
    one_pass(postgres, SLOW)
    assert [(d["status"], d["attempts"]) for d in deliveries(core_api, org)] == [("cancelled", 1)]
    assert len(receiver.received) == 1


def test_deleting_a_rule_cancels_its_deliveries_and_keeps_their_history(
    core_api: Client,
    org: Org,
    other_org: Org,
    superuser: psycopg.Connection,
    postgres: PostgresUrls,
    receiver: Receiver,
) -> None:
    rule = add_rule(core_api, org, event_type="treatment_plan.completed", action="webhook", webhook_url=receiver.url)
    fire(superuser, org, "treatment_plan.completed", 900042)
    fire(superuser, org, "treatment_plan.completed", 900043)
    receiver.always_fail = True
    one_pass(postgres, SLOW)
    path = f"/v1/automation/rules/{rule['id']}"
    assert core_api.delete(path, headers=other_org.headers("admin")).status_code == 404
    assert core_api.delete(path, headers=org.headers("specialist")).status_code == 403

    response = core_api.delete(path, headers=org.headers("admin"))
    assert response.status_code == 204, response.text
    assert ok(core_api.get("/v1/automation/rules", headers=org.headers("admin")))["rules"] == []
    history = deliveries(core_api, org, rule_id=rule["id"])
    assert [(d["rule_id"], d["status"], d["last_error"]) for d in history] == [
        (rule["id"], "cancelled", "HTTP 500")
    ] * 2
    assert core_api.delete(path, headers=org.headers("admin")).status_code == 404
    assert core_api.patch(path, json={"enabled": True}, headers=org.headers("admin")).status_code == 404
    stored = superuser.execute(
        "SELECT enabled, deleted_at IS NOT NULL, signing_secret FROM automation_rules WHERE id = %s", (rule["id"],)
    ).fetchone()
    assert stored == (False, True, None)
    audited = superuser.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'automation_rule.deleted' AND entity_id = %s", (str(rule["id"]),)
    ).fetchone()
    assert audited == (1,)
    # Events after the deletion get no delivery; nothing is attempted again.
    fire(superuser, org, "treatment_plan.completed", 900044)
    drain(postgres)
    assert len(receiver.received) == 2
    assert len(deliveries(core_api, org)) == 2


def test_an_organization_has_at_most_the_configured_number_of_rules(
    strict_api: Client, org: Org, other_org: Org
) -> None:
    body = {"event_type": "pain.alert", "action": "require_form", "form_template_id": org.form_template}
    created = [ok(strict_api.post("/v1/automation/rules", json=body, headers=org.headers("admin")), 201) for _ in "abc"]
    response = strict_api.post("/v1/automation/rules", json=body, headers=org.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "(3)" in response.json()["detail"]
    assert len(ok(strict_api.get("/v1/automation/rules", headers=org.headers("admin")))["rules"]) == 3
    # Another organization has its own allowance; deleting a rule frees a place.
    other = {**body, "form_template_id": other_org.form_template}
    ok(strict_api.post("/v1/automation/rules", json=other, headers=other_org.headers("admin")), 201)
    assert (
        strict_api.delete(f"/v1/automation/rules/{created[0]['id']}", headers=org.headers("admin")).status_code == 204
    )
    ok(strict_api.post("/v1/automation/rules", json=body, headers=org.headers("admin")), 201)


# Deliveries that never die (issue 15, item 4) ----------------------------------------------------------------


def test_a_crashing_delivery_counts_as_an_attempt_and_dies_at_the_cap(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, receiver: Receiver
) -> None:
    # A secret that is not base64: signing raises, which is neither an HTTP error nor a refusal.
    insert_webhook_rule(superuser, org, "treatment_plan.session_completed", receiver.url, secret="whsec_abc")
    add_rule(core_api, org, event_type="treatment_plan.completed", action="webhook", webhook_url=receiver.url)
    crashing = fire(superuser, org, "treatment_plan.session_completed", 900050, session_number=1)
    later = fire(superuser, org, "treatment_plan.completed", 900050)
    settings = AutomationSettings(
        max_attempts=3, backoff_base_seconds=0.02, allow_http_webhooks=True, webhook_allowed_cidrs=LOOPBACK
    )
    drain(postgres, settings)
    by_event = {d["event_id"]: d for d in deliveries(core_api, org)}
    assert (by_event[crashing]["status"], by_event[crashing]["attempts"], by_event[crashing]["last_error"]) == (
        "dead",
        3,
        "internal error",
    )
    # The enrollment's later event to the same URL was held back only until then.
    assert by_event[later]["status"] == "delivered"
    assert receiver.delivered_event_ids() == [later]


@pytest.mark.parametrize("url", ["http://0177.0.0.1:{port}/hook", "http://127.0.0.1:{port}/a\r\nX-Injected: 1"])
def test_a_stored_url_the_rules_refuse_dies_at_its_first_attempt(
    core_api: Client,
    org: Org,
    superuser: psycopg.Connection,
    postgres: PostgresUrls,
    receiver: Receiver,
    url: str,
) -> None:
    insert_webhook_rule(superuser, org, "treatment_plan.completed", url.format(port=receiver.port))
    fire(superuser, org, "treatment_plan.completed", 900051)
    drain(postgres)
    assert receiver.received == []
    assert dead_after_one_attempt(core_api, org) == "URL not allowed"


def test_a_last_attempt_that_left_no_outcome_is_dead_once_its_lease_ends(
    core_api: Client, org: Org, superuser: psycopg.Connection, postgres: PostgresUrls, receiver: Receiver
) -> None:
    # The dispatcher died (or lost the database) during attempt 3 of 3: nothing recorded, the lease ended.
    add_rule(core_api, org, event_type="treatment_plan.completed", action="webhook", webhook_url=receiver.url)
    fire(superuser, org, "treatment_plan.completed", 900052)
    receiver.always_fail = True
    one_pass(postgres, SLOW)
    superuser.execute(
        "UPDATE automation_deliveries SET attempts = 3, next_attempt_at = now(), leased_until = now() "
        "WHERE organization_id = %s",
        (org.id,),
    )
    receiver.always_fail = False
    settings = AutomationSettings(max_attempts=3, allow_http_webhooks=True, webhook_allowed_cidrs=LOOPBACK)
    drain(postgres, settings)
    assert len(receiver.received) == 1
    [dead] = deliveries(core_api, org)
    assert (dead["status"], dead["attempts"], dead["last_error"]) == ("dead", 3, "attempt interrupted")

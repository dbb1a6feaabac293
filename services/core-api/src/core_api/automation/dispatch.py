"""Delivering the outbox: fan events out to the matching rules, claim due deliveries, carry them out.

One pass (:func:`dispatch_once`) asks which organizations have work, then for each one, with its tenant set
(role ``system``): turns new events into deliveries, claims the due ones under a lease, carries them out
concurrently, and writes each outcome. Guarantees, for docs/automations.md:

- at least once: a delivery is marked delivered only after the webhook answered 2xx (or the built-in action
  committed); a dispatcher that dies mid-delivery leaves a lease that ends, and the next pass retries it.
  A webhook receiver may therefore see an event twice and drops repeats by ``webhook-id``;
- in order per enrollment: a delivery is claimed only when no earlier delivery of the same rule and
  enrollment is pending, so a failing event holds back the later ones until it succeeds or dies;
- retries back off exponentially (with jitter) up to AUTOMATION_MAX_ATTEMPTS, then the delivery is dead;
  any exception while delivering counts as a failed attempt, and a delivery whose last attempt left no
  outcome (the dispatcher died) is dead once its lease ends, so the cap holds whatever happens;
- every webhook delivery checks its URL and the addresses its host resolves to against this process's
  settings (:mod:`core_api.automation.destinations`) and connects to the address it checked;
- deliveries of disabled or deleted rules are cancelled, not attempted again unless an admin retries them;
- ``last_error`` is a category (:class:`Failure`), never an exception's text: what a receiver answered
  is the admin's business, what an internal network looks like is not;
- built-in actions run in one transaction with their outcome, so they take effect exactly once.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from dataclasses import dataclass
from enum import StrEnum

import httpx
import msgspec
import structlog
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from core_api.audit import trail
from core_api.automation import destinations
from core_api.automation import repository as repo
from core_api.automation.repository import Claimed
from core_api.automation.signing import signature
from core_api.db.tenancy import system_transaction
from core_api.settings import AutomationSettings, DispatcherSettings

log = structlog.get_logger("automation.dispatch")

USER_AGENT = "telerehab-automation/1"


class WebhookData(msgspec.Struct, frozen=True):
    event_id: int
    entity_type: str
    entity_id: str
    payload: msgspec.Raw


class WebhookBody(msgspec.Struct, frozen=True):
    """What a webhook receives: the Standard Webhooks envelope around the event."""

    type: str
    timestamp: str
    data: WebhookData


_encoder = msgspec.json.Encoder()


class Failure(StrEnum):
    """What ``last_error`` says about a failed attempt (an HTTP answer is ``HTTP <status>``)."""

    TIMEOUT = "timeout"
    REFUSED = "connection refused"
    TLS = "TLS error"
    CONNECT = "connection failed"
    NETWORK = "network error"
    NAME_NOT_RESOLVED = "name not resolved"
    DESTINATION_NOT_ALLOWED = "destination not allowed"
    URL_NOT_ALLOWED = "URL not allowed"
    NO_PATIENT = "the event names no patient"
    INTERNAL = "internal error"


def webhook_client(settings: AutomationSettings) -> httpx.AsyncClient:
    """The HTTP client deliveries use: no redirects (a redirect is a failed attempt, and could point
    anywhere), no proxy from the environment and no kept-alive connections, so every delivery connects
    straight to the address it just checked."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.webhook_timeout_seconds),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def _network_failure(exc: httpx.HTTPError) -> Failure:
    if isinstance(exc, httpx.TimeoutException):
        return Failure.TIMEOUT
    if not isinstance(exc, httpx.ConnectError):
        return Failure.NETWORK
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return Failure.TLS
        if isinstance(cause, ConnectionRefusedError):
            return Failure.REFUSED
        cause = cause.__cause__ or cause.__context__
    return Failure.CONNECT


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str = ""
    permanent: bool = False
    """A failure no retry can fix (the event names no patient): the delivery dies at once."""


@dataclass
class PassResult:
    fanned_out: int = 0
    delivered: int = 0
    failed: int = 0


def backoff_seconds(attempts: int, settings: AutomationSettings) -> float:
    """Wait before attempt ``attempts + 1``: base * 2**(attempts - 1), capped, with 20 % jitter either way so retries of
    many deliveries that failed together spread out."""
    delay: float = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** max(attempts - 1, 0))
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret


async def _post_webhook(client: httpx.AsyncClient, claimed: Claimed, settings: AutomationSettings) -> Outcome:
    assert claimed.webhook_url is not None
    assert claimed.signing_secret is not None
    body = _encoder.encode(
        WebhookBody(
            type=claimed.event_type,
            timestamp=claimed.event_created_at.isoformat(),
            data=WebhookData(
                event_id=claimed.event_id,
                entity_type=claimed.entity_type,
                entity_id=claimed.entity_id,
                payload=msgspec.Raw(claimed.payload.encode()),
            ),
        )
    )
    message_id = f"evt_{claimed.event_id}"
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(claimed.signing_secret, message_id, timestamp, body),
    }
    try:
        target = await destinations.pin(claimed.webhook_url, settings)
    except destinations.UrlRefused:
        return Outcome(delivered=False, error=Failure.URL_NOT_ALLOWED, permanent=True)
    except destinations.AddressRefused:
        return Outcome(delivered=False, error=Failure.DESTINATION_NOT_ALLOWED, permanent=True)
    except destinations.NameNotResolved:
        return Outcome(delivered=False, error=Failure.NAME_NOT_RESOLVED)
    headers["host"] = target.host_header
    try:
        response = await client.post(target.url, content=body, headers=headers, extensions=target.extensions)
    except httpx.HTTPError as exc:
        return Outcome(delivered=False, error=_network_failure(exc))
    if 200 <= response.status_code < 300:
        return Outcome(delivered=True, status_code=response.status_code)
    return Outcome(delivered=False, status_code=response.status_code, error=f"HTTP {response.status_code}")


async def _record(
    pool: AsyncConnectionPool[AsyncConnection],
    organization_id: int,
    claimed: Claimed,
    outcome: Outcome,
    settings: AutomationSettings,
) -> None:
    async with system_transaction(pool, organization_id) as conn:
        if outcome.delivered:
            await repo.mark_delivered(conn, claimed, outcome.status_code)
        else:
            await repo.mark_failed(
                conn,
                claimed,
                status_code=outcome.status_code,
                error=outcome.error,
                backoff_seconds=backoff_seconds(claimed.attempts, settings),
                max_attempts=claimed.attempts if outcome.permanent else settings.max_attempts,
            )


async def _require_form(
    pool: AsyncConnectionPool[AsyncConnection], organization_id: int, claimed: Claimed
) -> Outcome | None:
    """Give the event's patient the rule's form and mark the delivery, in one transaction; ``None`` when
    that is done (or another dispatcher took the delivery over), else the failure to record."""
    async with system_transaction(pool, organization_id) as conn:
        if not await repo.lock_claimed(conn, claimed):
            return None
        patient_id = await repo.event_patient(conn, claimed.payload)
        if patient_id is None:
            return Outcome(delivered=False, error=Failure.NO_PATIENT, permanent=True)
        form_instance_id = await repo.give_form(conn, claimed, patient_id)
        if form_instance_id is not None:
            await trail.record_system(
                conn,
                organization_id,
                "form_instance.required",
                "form_instance",
                form_instance_id,
                after={
                    "patient_id": patient_id,
                    "form_template_id": claimed.form_template_id,
                    "automation_delivery_id": claimed.id,
                    "event_id": claimed.event_id,
                },
            )
        await repo.mark_delivered(conn, claimed, None)
    return None


async def _carry_out(
    pool: AsyncConnectionPool[AsyncConnection],
    client: httpx.AsyncClient,
    organization_id: int,
    claimed: Claimed,
    settings: AutomationSettings,
) -> bool:
    """Carry out one claimed delivery and record its outcome; whether it was delivered."""
    try:
        if claimed.action == "require_form":
            failure = await _require_form(pool, organization_id, claimed)
            outcome = failure or Outcome(delivered=True)
        else:
            failure = outcome = await _post_webhook(client, claimed, settings)
    except Exception:
        # Whatever went wrong is a failed attempt like any other; one bad delivery never stops the others.
        log.exception("automation.delivery_crashed", delivery_id=claimed.id, organization_id=organization_id)
        failure = outcome = Outcome(delivered=False, error=Failure.INTERNAL)
    if failure is not None:
        try:
            await _record(pool, organization_id, claimed, failure, settings)
        except Exception:
            # The lease ends and a later pass attempts it again, or declares it dead if this was the last.
            log.exception("automation.outcome_lost", delivery_id=claimed.id, organization_id=organization_id)
            return False
    log.info(
        "automation.delivery",
        delivery_id=claimed.id,
        event_id=claimed.event_id,
        event_type=claimed.event_type,
        action=claimed.action,
        attempt=claimed.attempts,
        delivered=outcome.delivered,
        status_code=outcome.status_code,
        error=outcome.error or None,
    )
    return outcome.delivered


async def dispatch_organization(
    pool: AsyncConnectionPool[AsyncConnection],
    client: httpx.AsyncClient,
    organization_id: int,
    automation: AutomationSettings,
    dispatcher: DispatcherSettings,
) -> PassResult:
    result = PassResult()
    async with system_transaction(pool, organization_id) as conn:
        result.fanned_out = await repo.fan_out(conn, dispatcher.batch_size)
    async with system_transaction(pool, organization_id) as conn:
        await repo.cancel_stopped(conn)
        await repo.expire_exhausted(conn, automation.max_attempts)
        claimed = await repo.claim_due(conn, dispatcher.batch_size, dispatcher.lease_seconds, automation.max_attempts)
    outcomes = await asyncio.gather(*(_carry_out(pool, client, organization_id, each, automation) for each in claimed))
    result.delivered = sum(outcomes)
    result.failed = len(outcomes) - result.delivered
    return result


async def dispatch_once(
    pool: AsyncConnectionPool[AsyncConnection],
    client: httpx.AsyncClient,
    automation: AutomationSettings,
    dispatcher: DispatcherSettings,
) -> PassResult:
    """One pass over every organization with work; what it did, summed."""
    async with pool.connection() as conn:
        organizations = await repo.organizations_with_work(conn)
    total = PassResult()
    for organization_id in organizations:
        try:
            done = await dispatch_organization(pool, client, organization_id, automation, dispatcher)
        except Exception:
            log.exception("automation.organization_failed", organization_id=organization_id)
            continue
        total.fanned_out += done.fanned_out
        total.delivered += done.delivered
        total.failed += done.failed
    return total

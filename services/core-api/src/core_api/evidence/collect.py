"""Collecting telemetry's evidence of completed sessions: the dispatcher's evidence pass.

One pass (:func:`collect_once`) asks which organizations have collections due, then for each one, with its
tenant set (role ``system``): claims due collections under a lease (SKIP LOCKED, so several dispatchers
share the work), reads their logs, and asks telemetry about them in batches of at most
EVIDENCE_BATCH_SESSIONS sessions, one ``POST /v1/session-evidence`` per batch with a ``service`` token
core-api signs (as the retention job does). Each answered batch is stored in one transaction: the logs'
figures and states (overwritten, never appended), the completions' states, the ``evidence_contradicted``
alerts, and the collections: a first collection is kept for one refresh EVIDENCE_REFRESH_SECONDS later
(frames that arrived late), a refresh is deleted. A batch telemetry does not answer (down, timeout, an
answer other than 2xx or one that does not decode) costs its collections an attempt and an exponential
back-off; they are retried until they succeed, so nothing is lost. Without PRIVACY_TELEMETRY_URL nothing
is claimed and everything stays pending (said once in the log).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import msgspec
import structlog
from contracts.exercise_logs import EvidenceState
from contracts.session_evidence import EvidenceQuery, EvidenceSessionKey, SessionEvidence, SessionEvidenceList
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from core_api.db.tenancy import system_transaction
from core_api.evidence import repository as repo
from core_api.evidence.alerts import raise_contradicted
from core_api.evidence.repository import Claimed, ClaimedCompletion, ClaimedLog
from core_api.evidence.rules import Allowed, LogEvidence, Reported, Thresholds, completion_state, log_evidence
from core_api.settings import EvidenceSettings, Settings
from core_api.telemetry_tokens import TelemetryTokenIssuer

log = structlog.get_logger("evidence.collect")

SESSION_EVIDENCE_PATH = "/v1/session-evidence"
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(SessionEvidenceList)


@dataclass
class Collector:
    """What the evidence pass needs: its settings, the token issuer, and the client for telemetry (``None``
    when PRIVACY_TELEMETRY_URL is not set)."""

    settings: EvidenceSettings
    issuer: TelemetryTokenIssuer
    client: httpx.AsyncClient | None
    said_off: bool = False


@dataclass
class CollectResult:
    collected: int = 0
    """Completions whose evidence was stored."""
    calls: int = 0
    """Telemetry calls made."""
    failed: int = 0
    """Completions whose batch telemetry did not answer (retried later)."""
    alerts: int = 0
    """``adherence.evidence_contradicted`` alerts raised."""
    failures: list[str] = field(default_factory=list)
    """Why each failed batch failed (the ``last_error`` category)."""


@asynccontextmanager
async def collector(settings: Settings) -> AsyncIterator[Collector]:
    """The collector for the dispatcher's lifetime, with one HTTP client to telemetry."""
    issuer = TelemetryTokenIssuer(settings.telemetry_token)
    url = settings.privacy.telemetry_url
    if not url:
        yield Collector(settings.evidence, issuer, None)
        return
    timeout = httpx.Timeout(settings.evidence.timeout_seconds)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, trust_env=False) as client:
        yield Collector(settings.evidence, issuer, client)


def _batches(
    claimed: list[Claimed], logs: dict[int, list[ClaimedLog]], size: int
) -> list[tuple[list[Claimed], list[ClaimedLog]]]:
    """The claimed collections in batches of at most ``size`` sessions, a completion's logs never split."""
    batches: list[tuple[list[Claimed], list[ClaimedLog]]] = []
    for each in claimed:
        mine = logs.get(each.session_completion_id, [])
        if not batches or (batches[-1][1] and len(batches[-1][1]) + len(mine) > size):
            batches.append(([], []))
        batches[-1][0].append(each)
        batches[-1][1].extend(mine)
    return batches


async def _ask(collector: Collector, organization_id: int, keys: list[EvidenceSessionKey]) -> SessionEvidenceList | str:
    """Telemetry's answer for ``keys``, or why there is none (a category, never an exception's text)."""
    assert collector.client is not None
    issuer = collector.issuer
    token, _ = issuer.issue(
        actor_hash="core-api",
        org_hash=issuer.keyed_hash("organization", organization_id),
        role="service",
        consent_level=0,
        biometric=False,
    )
    try:
        response = await collector.client.post(
            SESSION_EVIDENCE_PATH,
            content=_encoder.encode(EvidenceQuery(sessions=keys)),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    except httpx.TimeoutException:
        return "timeout"
    except httpx.HTTPError:
        return "telemetry unreachable"
    if response.status_code // 100 != 2:
        return f"HTTP {response.status_code}"
    try:
        return _decoder.decode(response.content)
    except msgspec.DecodeError:
        return "malformed answer"


def _figures(
    completions: dict[int, ClaimedCompletion],
    logs: list[ClaimedLog],
    answers: dict[tuple[int, str], SessionEvidence],
) -> tuple[list[tuple[int, LogEvidence, str | None]], dict[int, list[EvidenceState]]]:
    figures = []
    states: dict[int, list[EvidenceState]] = {}
    for each in logs:
        completion = completions[each.session_completion_id]
        answer = answers.get((completion.patient_id, str(each.telemetry_session_id)))
        if answer is not None and answer.pose is not None and not completion.pose_allowed:
            # Frames sent under a token issued before biometric consent was withdrawn: not evidence, not kept.
            answer = msgspec.structs.replace(answer, pose=None)
        evidence = log_evidence(
            Reported(
                skipped=each.skipped,
                video_watched=each.video_watched,
                video_watch_percentage=each.video_watch_percentage,
                actual_sets=each.actual_sets,
                actual_reps=each.actual_reps,
            ),
            answer,
            # A log evidence is collected for had media evidence allowed at completion (rules.expected_state).
            Allowed(media=True, pose=completion.pose_allowed),
            Thresholds(
                min_watch_percent=completion.evidence_min_watch_percent,
                rep_tolerance=completion.evidence_rep_tolerance,
            ),
        )
        figures.append((each.id, evidence, repo.encode_answer(answer)))
        states.setdefault(completion.id, []).append(evidence.state)
    return figures, states


async def _collect_batch(
    pool: AsyncConnectionPool[AsyncConnection],
    collector: Collector,
    organization_id: int,
    claim: repo.Claim,
    batch: tuple[list[Claimed], list[ClaimedLog]],
    completions: dict[int, ClaimedCompletion],
    result: CollectResult,
) -> None:
    rows, logs = batch
    ids = [each.id for each in rows]
    hashes = {
        patient: collector.issuer.keyed_hash("patient", patient)
        for patient in {completions[each.session_completion_id].patient_id for each in rows}
    }
    answer: SessionEvidenceList | str = SessionEvidenceList(sessions=[])
    if logs:
        keys = [
            EvidenceSessionKey(
                actor_hash=hashes[completions[each.session_completion_id].patient_id],
                session_id=each.telemetry_session_id,
            )
            for each in logs
        ]
        answer = await _ask(collector, organization_id, keys)
        result.calls += 1
    if isinstance(answer, str):
        async with system_transaction(pool, organization_id) as conn:
            await repo.fail_collections(conn, ids, claim.leased_until, answer, collector.settings)
        log.warning("evidence.batch_failed", organization_id=organization_id, completions=len(rows), error=answer)
        result.failed += len(rows)
        result.failures.append(answer)
        return
    patients = {actor_hash: patient for patient, actor_hash in hashes.items()}
    answers = {
        (patients[each.actor_hash], str(each.session_id)): each
        for each in answer.sessions
        if each.actor_hash in patients
    }
    figures, log_states = _figures(completions, logs, answers)
    states = {
        each.session_completion_id: completion_state(log_states.get(each.session_completion_id, [])) for each in rows
    }
    turned = [
        completions[completion_id]
        for completion_id, state in states.items()
        if state == EvidenceState.CONTRADICTED
        and completions[completion_id].evidence_state != EvidenceState.CONTRADICTED
    ]
    async with system_transaction(pool, organization_id) as conn:
        await repo.store_log_evidence(conn, figures)
        await repo.store_completion_states(conn, states)
        result.alerts += await raise_contradicted(conn, turned)
        await repo.finish_collections(conn, ids, claim.leased_until, collector.settings)
    result.collected += len(rows)


async def collect_organization(
    pool: AsyncConnectionPool[AsyncConnection], collector: Collector, organization_id: int
) -> CollectResult:
    """Claim the organization's due collections and collect them, batch by batch."""
    result = CollectResult()
    settings = collector.settings
    async with system_transaction(pool, organization_id) as conn:
        claim = await repo.claim_due(conn, settings.batch_sessions, settings.lease_seconds)
        if not claim.rows:
            return result
        completion_ids = [each.session_completion_id for each in claim.rows]
        completions = {each.id: each for each in await repo.claimed_completions(conn, completion_ids)}
        logs: dict[int, list[ClaimedLog]] = {}
        for each in await repo.claimed_logs(conn, completion_ids):
            logs.setdefault(each.session_completion_id, []).append(each)
    for batch in _batches(claim.rows, logs, settings.batch_sessions):
        await _collect_batch(pool, collector, organization_id, claim, batch, completions, result)
    return result


async def collect_once(pool: AsyncConnectionPool[AsyncConnection], collector: Collector) -> CollectResult:
    """One evidence pass over every organization with collections due; what it did, summed."""
    total = CollectResult()
    if collector.client is None:
        if not collector.said_off:
            log.warning("evidence.collection_off", reason="PRIVACY_TELEMETRY_URL is not set; evidence stays pending")
            collector.said_off = True
        return total
    async with pool.connection() as conn:
        organizations = await repo.organizations_due(conn)
    for organization_id in organizations:
        try:
            done = await collect_organization(pool, collector, organization_id)
        except Exception:
            # The claimed collections keep their lease until it ends; a later pass takes them again.
            log.exception("evidence.organization_failed", organization_id=organization_id)
            continue
        total.collected += done.collected
        total.calls += done.calls
        total.failed += done.failed
        total.alerts += done.alerts
        total.failures.extend(done.failures)
    return total

"""The rules of consent, which consent's routes and every area that acts on consent share (execution,
forms, privacy).

Consent is the patient's decision. A patient grants and revokes their own consent, in the app
(``POST /v1/patients/{id}/consent``) or by submitting a consent form, whose answers ``analytics_level``
and ``biometric_consent`` are recorded as their statement. Staff enter a consent form the patient signed on
paper only through the audited paper-submission route, and it cannot grant more than the patient allows
now once they have decided in the app. Staff record a decision with ``POST .../consent`` only with
evidence: a consent form that is the patient's latest own statement, and no more than its answers grant.
So a patient's own revocation always wins. Writers of one patient's consent hold a lock to commit, so a
check cannot be overtaken by a concurrent change. Every change is a new row (the history is append-only)
and an audit row, in one transaction. See docs/privacy.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from contracts.consent import ConsentChange, ConsentKind, ConsentSource, ConsentState
from contracts.forms import FormInstance
from contracts.problems import FieldError
from psycopg import AsyncConnection
from service_common.auth.actor import Actor
from service_common.errors import ConflictError, UnprocessableError

from core_api.audit import trail
from core_api.consent import repository as repo

ANALYTICS_QUESTION = "analytics_level"
"""The question of a consent form whose answer (an integer 0-3) is the analytics level the patient allows."""
BIOMETRIC_QUESTION = "biometric_consent"
"""The boolean question of a consent form whose answer is the patient's biometric consent."""
_MAX_LEVEL = 3


class ConsentSupersededError(ConflictError):
    """Staff would record more than the patient's own latest decision allows."""

    slug = "consent-superseded"
    title = "The patient's own later decision stands"


class FormDecision(msgspec.Struct, frozen=True):
    """What a consent form's answers state; ``None`` where it states nothing."""

    analytics_level: int | None
    biometric: bool | None


def _level(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_LEVEL else None


def form_decision(responses: Mapping[str, object]) -> FormDecision:
    """The decisions a consent form's answers state."""
    biometric = responses.get(BIOMETRIC_QUESTION)
    return FormDecision(
        analytics_level=_level(responses.get(ANALYTICS_QUESTION)),
        biometric=biometric if isinstance(biometric, bool) else None,
    )


def form_answer_problems(responses: Mapping[str, object]) -> list[FieldError]:
    """Why a consent form's answers cannot stand for consent, each naming ``responses.<question id>``
    (a template may ask these questions in another shape than consent needs)."""
    errors: list[FieldError] = []
    level = responses.get(ANALYTICS_QUESTION)
    if level is not None and _level(level) is None:
        errors.append(FieldError(f"responses.{ANALYTICS_QUESTION}", "must be an analytics level from 0 to 3"))
    biometric = responses.get(BIOMETRIC_QUESTION)
    if biometric is not None and not isinstance(biometric, bool):
        errors.append(FieldError(f"responses.{BIOMETRIC_QUESTION}", "must be true or false"))
    return errors


def _beyond(decision: FormDecision, analytics_level: int | None, biometric: bool | None) -> list[FieldError]:
    """How recording ``analytics_level`` and ``biometric`` would go beyond what the form grants."""
    errors: list[FieldError] = []
    granted_level = decision.analytics_level or 0
    if analytics_level is not None and analytics_level > granted_level:
        errors.append(FieldError("analytics_level", f"the consent form grants level {granted_level} at most"))
    if biometric and decision.biometric is not True:
        errors.append(FieldError("biometric", "the consent form does not grant biometric consent"))
    return errors


async def state(conn: AsyncConnection, patient_id: int) -> ConsentState:
    current = await repo.current(conn, patient_id)
    return ConsentState(
        patient_id=patient_id,
        analytics_level=current.analytics_level,
        biometric=current.biometric,
        pose_tracking_allowed=current.pose_tracking_allowed,
        history=await repo.history(conn, patient_id),
    )


async def pose_tracking_allowed(conn: AsyncConnection, patient_id: int) -> bool:
    return (await repo.current(conn, patient_id)).pose_tracking_allowed


async def record(
    conn: AsyncConnection,
    actor: Actor,
    patient_id: int,
    *,
    analytics_level: int | None = None,
    biometric: bool | None = None,
    form_instance_id: int | None = None,
    reason: str | None = None,
    source: ConsentSource | None = None,
) -> None:
    """Append the given decisions (one row per kind) and their audit row, in ``conn``'s transaction, under
    the patient's consent lock. ``source`` defaults to the actor: the patient, or staff."""
    await repo.lock(conn, patient_id)
    if source is None:
        source = ConsentSource.PATIENT if actor.role == "patient" else ConsentSource.STAFF
    before = await repo.current(conn, patient_id)
    common: dict[str, Any] = {
        "patient_id": patient_id,
        "form_instance_id": form_instance_id,
        "reason": reason,
        "user_id": actor.user_id,
        "role": actor.role,
        "source": source,
    }
    if analytics_level is not None:
        await repo.insert(
            conn,
            common
            | {"kind": ConsentKind.ANALYTICS, "analytics_level": analytics_level, "granted": analytics_level > 0},
        )
    if biometric is not None:
        await repo.insert(conn, common | {"kind": ConsentKind.BIOMETRIC, "analytics_level": None, "granted": biometric})
    after = await repo.current(conn, patient_id)
    await trail.record(
        conn,
        actor,
        "patient_consent.changed",
        "patient",
        patient_id,
        before={"analytics_level": before.analytics_level, "biometric": before.biometric},
        after={
            "analytics_level": after.analytics_level,
            "biometric": after.biometric,
            "form_instance_id": form_instance_id,
            "source": source,
        },
    )


async def record_form(conn: AsyncConnection, actor: Actor, instance: FormInstance, *, on_paper: bool) -> None:
    """Record a just-submitted consent form's answers as the patient's own statement: submitted by the
    patient in the app, or (``on_paper``) entered by staff from the patient's signed paper form. Once the
    patient has decided in the app, a paper form may not grant more than they allow now (409)."""
    decision = form_decision(instance.responses or {})
    if decision.analytics_level is None and decision.biometric is None:
        return
    await repo.lock(conn, instance.patient_id)
    if on_paper and await repo.stated_in_app(conn, instance.patient_id):
        current = await repo.current(conn, instance.patient_id)
        if (decision.analytics_level or 0) > current.analytics_level or (decision.biometric and not current.biometric):
            raise ConsentSupersededError(
                "The patient has decided on their consent in the app: a paper form cannot grant more than they "
                "allow now. Only the patient can raise it."
            )
    await record(
        conn,
        actor,
        instance.patient_id,
        analytics_level=decision.analytics_level,
        biometric=decision.biometric,
        form_instance_id=instance.id,
        reason="paper consent form entered" if on_paper else "consent form submitted",
        source=ConsentSource.PAPER_FORM if on_paper else ConsentSource.CONSENT_FORM,
    )


async def check_staff_evidence(conn: AsyncConnection, patient_id: int, data: ConsentChange) -> None:
    """Staff record no more than the patient's latest own statement, a consent form, grants."""
    if data.form_instance_id is None:
        raise UnprocessableError(
            "Staff record a patient's consent with the patient's submitted consent form as evidence.",
            errors=[FieldError("form_instance_id", "required when staff record consent")],
        )
    responses = await repo.consent_form_responses(conn, patient_id, data.form_instance_id)
    if responses is None:
        raise UnprocessableError(
            "The evidence must be a submitted consent form of this patient.",
            errors=[FieldError("form_instance_id", "not a submitted consent form of this patient")],
        )
    beyond = _beyond(form_decision(responses), data.analytics_level, data.biometric)
    if beyond:
        raise UnprocessableError("The consent form does not grant what is to be recorded.", errors=beyond)
    statement = await repo.form_statement(conn, patient_id, data.form_instance_id)
    if not statement.stated:
        raise UnprocessableError(
            "The evidence must be the patient's own statement: a consent form the patient submitted, or their "
            "signed paper form entered by staff.",
            errors=[FieldError("form_instance_id", "not a consent statement of the patient")],
        )
    if not statement.latest:
        raise ConsentSupersededError(
            "The patient changed their consent after this form; their later decision stands.",
            errors=[FieldError("form_instance_id", "superseded by the patient's later decision")],
        )

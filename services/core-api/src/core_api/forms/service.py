"""The rules of forms: who reads an instance, and what a valid submission is.

An instance belongs to a patient: row-level security shows it to the organization's staff and to that
patient only, so anyone else gets a 404. A submission answers the template's questions once: every
required question answered, each answer of its question's shape, no answer to a question the template
does not ask. The first valid submission wins; a second one is a 409. A consent form's answers are the
patient's consent statement: only the patient submits it, or staff enter the one the patient signed on paper
through the audited paper route (docs/privacy.md). See docs/forms.md.
"""

from __future__ import annotations

from contracts.forms import (
    Answer,
    BooleanQuestion,
    ChoiceQuestion,
    FormInstance,
    FormInstanceList,
    FormInstanceStatus,
    FormKind,
    FormSubmit,
    PaperFormSubmit,
    Question,
    ScaleQuestion,
    TextQuestion,
)
from contracts.problems import FieldError
from psycopg import AsyncConnection
from service_common.auth.actor import Actor
from service_common.errors import ConflictError, ForbiddenError, NotFoundError, UnprocessableError

from core_api.audit import trail
from core_api.automation import outbox
from core_api.consent import rules as consent
from core_api.db.tenancy import PoolService, actor_transaction
from core_api.forms import repository as repo
from core_api.not_found import or_404
from core_api.paging import Paging

SUBMITTED_EVENT = "form.submitted"


def _is_blank(value: Answer) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _scale_problem(question: ScaleQuestion, value: Answer) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be an integer"
    if not question.min <= value <= question.max:
        return f"must be between {question.min} and {question.max}"
    return None


def _choice_problem(question: ChoiceQuestion, value: Answer) -> str | None:
    if not question.multiple:
        return None if isinstance(value, str) and value in question.options else f"must be one of {question.options}"
    if not isinstance(value, list):
        return "must be a list of options"
    if any(choice not in question.options for choice in value):
        return f"every choice must be one of {question.options}"
    return "a choice is given twice" if len(set(value)) != len(value) else None


def _text_problem(question: TextQuestion, value: Answer) -> str | None:
    if not isinstance(value, str):
        return "must be text"
    if len(value) > question.max_length:
        return f"must be at most {question.max_length} characters"
    # PostgreSQL cannot store NUL in JSON text.
    return "must not contain NUL characters" if "\x00" in value else None


def _answer_problem(question: Question, value: Answer) -> str | None:
    """Why ``value`` does not answer ``question``, or ``None`` when it does."""
    match question:
        case ScaleQuestion():
            return _scale_problem(question, value)
        case ChoiceQuestion():
            return _choice_problem(question, value)
        case TextQuestion():
            return _text_problem(question, value)
        case BooleanQuestion():
            return None if isinstance(value, bool) else "must be true or false"


def check_responses(questions: list[Question], responses: dict[str, Answer]) -> list[FieldError]:
    """Every way ``responses`` fails to answer ``questions``, each naming ``responses.<question id>``."""
    asked = {question.id: question for question in questions}
    errors = [FieldError(f"responses.{key}", "the form has no such question") for key in responses if key not in asked]
    for question in questions:
        value = responses.get(question.id)
        if _is_blank(value):
            if question.required:
                errors.append(FieldError(f"responses.{question.id}", "an answer is required"))
            if value is None:
                continue
        problem = _answer_problem(question, value)
        if problem is not None:
            errors.append(FieldError(f"responses.{question.id}", problem))
    return errors


class FormService(PoolService):
    async def get(self, actor: Actor, instance_id: int) -> FormInstance:
        async with actor_transaction(self._pool, actor) as conn:
            instance = or_404(await repo.get_instance(conn, instance_id), f"form instance {instance_id} does not exist")
            await trail.record_read(
                conn, actor, "form_instance.read", "form_instance", instance_id, patient_id=instance.patient_id
            )
        return instance

    async def list_for_patient(
        self, actor: Actor, patient_id: int, status: FormInstanceStatus | None, paging: Paging
    ) -> FormInstanceList:
        params = paging.params(patient_id=patient_id, status=status)
        async with actor_transaction(self._pool, actor) as conn:
            if not await repo.patient_exists(conn, patient_id):
                raise NotFoundError(f"patient {patient_id} does not exist")
            items, total = await repo.list_patient_instances(conn, params)
            await trail.record_read(conn, actor, "form_instance.read", "patient", patient_id, patient_id=patient_id)
        return paging.listing(FormInstanceList, items, total)

    async def submit(self, actor: Actor, instance_id: int, data: FormSubmit) -> FormInstance:
        """Validate ``data`` against the template, store it, audit it and queue ``form.submitted``. A
        consent form is the patient's to submit: staff enter a signed paper one with ``submit_paper``."""
        async with actor_transaction(self._pool, actor) as conn:
            before = await _pending(conn, instance_id)
            if before.kind == FormKind.CONSENT and actor.role != "patient":
                raise ForbiddenError(
                    "A consent form is the patient's own statement: staff cannot answer it for them. Enter a "
                    f"form the patient signed on paper with POST /v1/form-instances/{instance_id}/paper-submission."
                )
            after = await _store(conn, before, data.responses)
            await trail.record(
                conn, actor, "form_instance.submitted", "form_instance", instance_id, before=before, after=after
            )
            await _submitted(conn, actor, after, on_paper=False)
        return after

    async def submit_paper(self, actor: Actor, instance_id: int, data: PaperFormSubmit) -> FormInstance:
        """Staff enter the answers of a consent form the patient signed on paper, audited with the staff
        member, the document's reference and the reason; then as ``submit``."""
        async with actor_transaction(self._pool, actor) as conn:
            before = await _pending(conn, instance_id)
            if before.kind != FormKind.CONSENT:
                raise UnprocessableError(
                    "Only a consent form is entered from paper; submit other forms with .../submit.",
                    errors=[FieldError("instance_id", "not a consent form")],
                )
            after = await _store(conn, before, data.responses)
            await trail.record(
                conn,
                actor,
                "form_instance.submitted_on_paper",
                "form_instance",
                instance_id,
                before=before,
                after={"instance": after, "document_reference": data.document_reference, "reason": data.reason},
            )
            await _submitted(conn, actor, after, on_paper=True)
        return after


async def _pending(conn: AsyncConnection, instance_id: int) -> FormInstance:
    """The instance, locked for its submission: 404 if the caller cannot see it, 409 once submitted."""
    instance = or_404(await repo.lock_instance(conn, instance_id), f"form instance {instance_id} does not exist")
    if instance.status != FormInstanceStatus.PENDING:
        raise ConflictError(f"form instance {instance_id} is already submitted")
    return instance


async def _store(conn: AsyncConnection, before: FormInstance, responses: dict[str, Answer]) -> FormInstance:
    """Check ``responses`` against the form's questions (and a consent form's answers against what consent
    takes), store them and return the submitted instance."""
    errors = check_responses(before.questions, responses)
    if before.kind == FormKind.CONSENT:
        errors += consent.form_answer_problems(responses)
    if errors:
        raise UnprocessableError("the responses do not answer the form's questions", errors=errors)
    answered = {key: value for key, value in responses.items() if value is not None}
    await repo.submit(conn, before.id, answered)
    after = await repo.get_instance(conn, before.id)
    assert after is not None
    return after


async def _submitted(conn: AsyncConnection, actor: Actor, after: FormInstance, *, on_paper: bool) -> None:
    """A consent form's answers become the patient's statement; every form queues ``form.submitted``."""
    if after.kind == FormKind.CONSENT:
        await consent.record_form(conn, actor, after, on_paper=on_paper)
    await outbox.fire(
        conn,
        actor.organization_id,
        SUBMITTED_EVENT,
        "form_instance",
        after.id,
        {
            "form_instance_id": after.id,
            "form_template_id": after.form_template_id,
            "kind": after.kind,
            "patient_id": after.patient_id,
            "session_completion_id": after.session_completion_id,
        },
    )

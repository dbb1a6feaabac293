"""Forms: templates made of typed questions, the instances a patient fills in, and their responses.

A template's ``schema`` is ``{"questions": [...]}``; each question is a tagged union on ``type``
(``scale``, ``choice``, ``text``, ``boolean``). An instance is one copy of a template a patient is asked to
fill in (the post-session form a completed session creates, a consent form); a submission answers it
once, keyed by question id. See docs/forms.md.
"""

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.types import IntId, Page, ShortText, Slug, Timestamp

_NonNegative = Annotated[int, Meta(ge=0)]
_Positive = Annotated[int, Meta(ge=1)]

# A question as a patient reads it; one visible character at least, so "   " is not a prompt.
Prompt = Annotated[str, Meta(min_length=1, max_length=1000, pattern=r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]

# The ends of a rating scale; wide enough for 0-10 pain and 0-100 visual analogue scales.
ScaleBound = Annotated[int, Meta(ge=-1000, le=1000)]

# The longest free-text answer a template may allow.
MAX_TEXT_LENGTH = 2000
TextLength = Annotated[int, Meta(ge=1, le=MAX_TEXT_LENGTH)]

MAX_QUESTIONS = 50


class FormKind(StrEnum):
    POST_SESSION = "post_session"
    CONSENT = "consent"
    INTAKE = "intake"
    OTHER = "other"


class FormInstanceStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"


# Questions --------------------------------------------------------------------------------------------------


class ScaleLabel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The words for one point of a scale: ``{"value": 0, "label": "no pain"}``."""

    value: ScaleBound
    label: ShortText


class ScaleQuestion(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type", tag="scale"
):
    """An integer from ``min`` through ``max``; ``labels`` name some of its points."""

    id: Slug
    prompt: Prompt
    required: bool = True
    min: ScaleBound
    max: ScaleBound
    labels: Annotated[list[ScaleLabel], Meta(max_length=50)] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.min >= self.max:
            raise ValueError(f"question {self.id!r}: min must be less than max")
        points = [label.value for label in self.labels]
        if any(not self.min <= point <= self.max for point in points):
            raise ValueError(f"question {self.id!r}: every label's value must lie within min..max")
        if len(set(points)) != len(points):
            raise ValueError(f"question {self.id!r}: a value has two labels")


Options = Annotated[list[ShortText], Meta(min_length=2, max_length=20)]


class ChoiceQuestion(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type", tag="choice"
):
    """One of ``options``, or any number of them (a list) when ``multiple`` is true."""

    id: Slug
    prompt: Prompt
    required: bool = True
    options: Options
    multiple: bool = False

    def __post_init__(self) -> None:
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"question {self.id!r}: options must be unique")


class TextQuestion(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type", tag="text"):
    """Free text of at most ``max_length`` characters."""

    id: Slug
    prompt: Prompt
    required: bool = True
    max_length: TextLength = MAX_TEXT_LENGTH


class BooleanQuestion(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type", tag="boolean"
):
    """``true`` or ``false``: a yes/no statement such as a consent form's ``biometric_consent``."""

    id: Slug
    prompt: Prompt
    required: bool = True


Question = ScaleQuestion | ChoiceQuestion | TextQuestion | BooleanQuestion


class FormSchema(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A template's questions, in the order they are asked; question ids are unique within it."""

    questions: Annotated[list[Question], Meta(min_length=1, max_length=MAX_QUESTIONS)]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} is used twice")
            seen.add(question.id)


class StoredFormSchema(msgspec.Struct, frozen=True, kw_only=True):
    """A template's questions as the API shows them. Templates stored before questions were typed hold
    ``{}`` (or keys of their own, ignored here): they read as a form without questions."""

    questions: list[Question] = msgspec.field(default_factory=list)


# Instances and responses ------------------------------------------------------------------------------------

# An answer as JSON carries it. The contract accepts any of the shapes so a wrong one is refused by the
# service naming the question (``responses.pain``); which shape a question takes is its type's business.
Answer = bool | int | float | str | list[str] | None

Responses = Annotated[dict[str, Answer], Meta(max_length=MAX_QUESTIONS)]


class FormSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/form-instances/{id}/submit``: the answers keyed by question id; an optional question
    may be left out or ``null``."""

    responses: Responses


class PaperFormSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/form-instances/{id}/paper-submission`` (staff): the answers of a consent form the patient
    signed on paper, entered on their behalf, with where the signed document is kept and why it was entered
    by staff. Audited with the staff member; see docs/privacy.md."""

    responses: Responses
    document_reference: ShortText
    """Where the signed paper form is kept (a scan's file name, an archive number); no patient name."""
    reason: ShortText


class FormInstance(msgspec.Struct, frozen=True, kw_only=True):
    """One copy of a template a patient fills in, with the template's questions."""

    id: IntId
    patient_id: IntId
    form_template_id: IntId
    title: ShortText
    kind: FormKind
    session_completion_id: IntId | None
    status: FormInstanceStatus
    questions: list[Question]
    responses: dict[str, Answer] | None
    created_at: Timestamp
    submitted_at: Timestamp | None


class FormInstanceList(msgspec.Struct, frozen=True, kw_only=True):
    form_instances: list[FormInstance]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative

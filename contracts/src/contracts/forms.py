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

from contracts.paging import PageInfo
from contracts.types import IntId, ShortText, Slug, Timestamp

# A question as a patient reads it; one visible character at least, so "   " is not a prompt.
Prompt = Annotated[str, Meta(min_length=1, max_length=1000, pattern=r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]

# The ends of a rating scale; wide enough for 0-10 pain and 0-100 visual analogue scales.
ScaleBound = Annotated[int, Meta(ge=-1000, le=1000)]

# The longest free-text answer a template may allow.
MAX_TEXT_LENGTH = 2000
TextLength = Annotated[int, Meta(ge=1, le=MAX_TEXT_LENGTH)]

MAX_QUESTIONS = 50


class FormKind(StrEnum):
    """What a form template is for.

    - ``post_session``: asked after each completed session (pain, difficulty, notes).
    - ``consent``: a consent form; its answers to ``analytics_level`` and ``biometric_consent`` record consent
      (docs/privacy.md).
    - ``intake``: an intake questionnaire.
    - ``other``: any other questionnaire.
    """

    POST_SESSION = "post_session"
    CONSENT = "consent"
    INTAKE = "intake"
    OTHER = "other"


class FormInstanceStatus(StrEnum):
    """Where a form instance stands.

    - ``pending``: the patient has not answered it yet.
    - ``submitted``: answered (once; answers do not change after).
    """

    PENDING = "pending"
    SUBMITTED = "submitted"


# Questions --------------------------------------------------------------------------------------------------


class ScaleLabel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The words for one point of a scale: ``{"value": 0, "label": "no pain"}``."""

    value: Annotated[
        ScaleBound,
        Meta(description="The point of the scale it names, between the question's `min` and `max`."),
    ]
    label: Annotated[ShortText, Meta(description="The words for that point (`no pain`), 1-200 characters.")]


# frozen and kw_only are repeated on every question: mypy does not inherit frozen, and msgspec applies
# kw_only per class, so without it a question's own fields would be ordered before the shared ones.
class _Question(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type"):
    """What every question has; each kind adds its own fields."""

    id: Annotated[
        Slug,
        Meta(description="The question's id, a lowercase slug unique within the form; answers are keyed by it."),
    ]
    prompt: Annotated[Prompt, Meta(description="The question as the patient reads it, 1-1000 characters.")]
    required: Annotated[
        bool,
        Meta(description="Whether an answer is required; an optional question may be left out or `null`."),
    ] = True


class ScaleQuestion(_Question, frozen=True, kw_only=True, tag="scale"):
    """An integer from ``min`` through ``max``; ``labels`` name some of its points."""

    min: Annotated[ScaleBound, Meta(description="Lowest answer allowed, an integer (-1000 to 1000), below `max`.")]
    max: Annotated[ScaleBound, Meta(description="Highest answer allowed, an integer (-1000 to 1000), above `min`.")]
    labels: Annotated[
        Annotated[list[ScaleLabel], Meta(max_length=50)],
        Meta(description="Words for some points of the scale (at most 50, one per value, within `min`..`max`)."),
    ] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.min >= self.max:
            raise ValueError(f"question {self.id!r}: min must be less than max")
        points = [label.value for label in self.labels]
        if any(not self.min <= point <= self.max for point in points):
            raise ValueError(f"question {self.id!r}: every label's value must lie within min..max")
        if len(set(points)) != len(points):
            raise ValueError(f"question {self.id!r}: a value has two labels")


Options = Annotated[list[ShortText], Meta(min_length=2, max_length=20)]


class ChoiceQuestion(_Question, frozen=True, kw_only=True, tag="choice"):
    """One of ``options``, or any number of them (a list) when ``multiple`` is true."""

    options: Annotated[
        Options,
        Meta(description="The choices, 2-20 unique texts; an answer is one of them (a list of them when `multiple`)."),
    ]
    multiple: Annotated[
        bool,
        Meta(description="Whether several options may be chosen (the answer is then a list)."),
    ] = False

    def __post_init__(self) -> None:
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"question {self.id!r}: options must be unique")


class TextQuestion(_Question, frozen=True, kw_only=True, tag="text"):
    """Free text of at most ``max_length`` characters."""

    max_length: Annotated[
        TextLength,
        Meta(description="Longest answer allowed, in characters (1-2000)."),
    ] = MAX_TEXT_LENGTH


class BooleanQuestion(_Question, frozen=True, kw_only=True, tag="boolean"):
    """``true`` or ``false``: a yes/no statement such as a consent form's ``biometric_consent``."""


Question = ScaleQuestion | ChoiceQuestion | TextQuestion | BooleanQuestion


class FormSchema(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A template's questions, in the order they are asked; question ids are unique within it."""

    questions: Annotated[
        Annotated[list[Question], Meta(min_length=1, max_length=MAX_QUESTIONS)],
        Meta(description="The questions in the order they are asked, 1-50, ids unique; each a tagged union on `type`."),
    ]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} is used twice")
            seen.add(question.id)


class StoredFormSchema(msgspec.Struct, frozen=True, kw_only=True):
    """A template's questions as the API shows them. Templates stored before questions were typed hold
    ``{}`` (or keys of their own, ignored here): they read as a form without questions."""

    questions: Annotated[
        list[Question],
        Meta(
            description=(
                "The questions in the order they are asked; empty for a template stored before questions were typed."
            )
        ),
    ] = msgspec.field(default_factory=list)


# Instances and responses ------------------------------------------------------------------------------------

# An answer as JSON carries it. The contract accepts any of the shapes so a wrong one is refused by the
# service naming the question (``responses.pain``); which shape a question takes is its type's business.
Answer = bool | int | float | str | list[str] | None

Responses = Annotated[dict[str, Answer], Meta(max_length=MAX_QUESTIONS)]


class FormSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/form-instances/{id}/submit``: the answers keyed by question id; an optional question
    may be left out or ``null``."""

    responses: Annotated[
        Responses,
        Meta(
            description=(
                "Answers keyed by question id (at most 50): an integer for `scale`, an option (or"
                " a list when `multiple`) for `choice`, a string for `text`, a boolean for "
                "`boolean`; `null` or absent for an unanswered optional question."
            )
        ),
    ]


class PaperFormSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/form-instances/{id}/paper-submission`` (staff): the answers of a consent form the patient
    signed on paper, entered on their behalf, with where the signed document is kept and why it was entered
    by staff. Audited with the staff member; see docs/privacy.md."""

    responses: Annotated[
        Responses,
        Meta(description="The answers on the signed paper form, keyed by question id, shaped as in `FormSubmit`."),
    ]
    document_reference: Annotated[
        ShortText,
        Meta(
            description=(
                "Where the signed paper form is kept (a scan's file name, an archive number); no patient name."
            )
        ),
    ]
    reason: Annotated[
        ShortText,
        Meta(
            description=(
                "Why staff entered it rather than the patient (`patient has no smartphone`), 1-200 characters."
            )
        ),
    ]


class FormInstance(msgspec.Struct, frozen=True, kw_only=True):
    """One copy of a template a patient fills in, with the template's questions."""

    id: Annotated[IntId, Meta(description="The instance's id.")]
    patient_id: Annotated[IntId, Meta(description="The patient asked to fill it in.")]
    form_template_id: Annotated[IntId, Meta(description="The template it is a copy of.")]
    title: Annotated[ShortText, Meta(description="The template's title.")]
    kind: Annotated[FormKind, Meta(description="What the form is for: `post_session`, `consent`, `intake` or `other`.")]
    session_completion_id: Annotated[
        IntId | None,
        Meta(description="The completed session that created it (post-session forms); null otherwise."),
    ]
    status: Annotated[FormInstanceStatus, Meta(description="`pending` (not answered yet) or `submitted`.")]
    questions: Annotated[list[Question], Meta(description="The template's questions, in order.")]
    responses: Annotated[
        dict[str, Answer] | None,
        Meta(description="The answers keyed by question id; null while pending."),
    ]
    created_at: Annotated[Timestamp, Meta(description="When the patient was asked to fill it in.")]
    submitted_at: Annotated[Timestamp | None, Meta(description="When it was submitted; null while pending.")]


class FormInstanceList(PageInfo, frozen=True, kw_only=True):
    """One page of form instances."""

    form_instances: Annotated[list[FormInstance], Meta(description="Form instances on this page.")]


# Request bodies as documented: each Struct with an example (service_common.openapi puts it on the schema).
FormSubmitBody = Annotated[
    FormSubmit, Meta(examples=[{"responses": {"pain": 3, "difficulty": "just right", "notes": "Knee felt stiff."}}])
]
PaperFormSubmitBody = Annotated[
    PaperFormSubmit,
    Meta(
        examples=[
            {
                "responses": {"analytics_level": 2, "biometric_consent": True},
                "document_reference": "scan-2026-02-16-0042.pdf",
                "reason": "Patient signed the consent form at the clinic",
            }
        ]
    ),
]

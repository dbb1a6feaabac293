"""Form templates (``/v1/form-templates``), the organization's own or the platform's (global); their typed
questions are described in ``contracts.forms``.
"""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.forms import FormKind, FormSchema, StoredFormSchema
from contracts.paging import PageInfo
from contracts.types import (
    IntId,
    ShortText,
    Timestamp,
)

FormTitle = Annotated[ShortText, Meta(description="The form's title as the patient reads it, 1-200 characters.")]


FormTemplateKind = Annotated[
    FormKind,
    Meta(description="What the form is for: `post_session`, `consent`, `intake` or `other` (see FormKind)."),
]


# Form templates ---------------------------------------------------------------------------------------------


class FormTemplateCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/form-templates``. ``schema`` holds the form's typed questions (see ``contracts.forms``)."""

    title: FormTitle
    kind: FormTemplateKind = FormKind.POST_SESSION
    schema: Annotated[
        FormSchema,
        Meta(description=('The form\'s typed questions, `{"questions": [...]}` (1-50, ids unique).')),
    ]
    is_global: Annotated[
        bool,
        Meta(
            description=(
                "`true`: a platform template every organization reads (platform administrators "
                "only); `false`: the organization's own."
            )
        ),
    ] = msgspec.field(default=False, name="global")


class FormTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A form template, the organization's own or global."""

    id: Annotated[IntId, Meta(description="The template's id.")]
    title: FormTitle
    kind: FormTemplateKind
    schema: Annotated[
        StoredFormSchema,
        Meta(
            description=(
                'The form\'s typed questions; `{"questions": []}` for a template stored before questions were typed.'
            )
        ),
    ]
    is_global: Annotated[
        bool,
        Meta(description="`true`: a platform template every organization reads; `false`: the organization's own."),
    ] = msgspec.field(name="global")
    created_at: Annotated[Timestamp, Meta(description="When the template was created.")]


class FormTemplateList(PageInfo, frozen=True, kw_only=True):
    """One page of form templates."""

    form_templates: Annotated[list[FormTemplate], Meta(description="Form templates on this page.")]


FormTemplateCreateBody = Annotated[
    FormTemplateCreate,
    Meta(
        examples=[
            {
                "title": "Post-session check-in",
                "kind": "post_session",
                "schema": {
                    "questions": [
                        {
                            "type": "scale",
                            "id": "pain",
                            "prompt": "How much pain do you feel now?",
                            "min": 0,
                            "max": 10,
                            "labels": [{"value": 0, "label": "no pain"}, {"value": 10, "label": "worst pain"}],
                        },
                        {
                            "type": "text",
                            "id": "notes",
                            "prompt": "Anything to tell your therapist?",
                            "required": False,
                        },
                    ]
                },
            }
        ]
    ),
]

"""RFC 9457 problem details: the body of every error response from both services."""

from typing import Annotated

import msgspec
from msgspec import Meta

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Each domain error gets a stable ``type`` URI under this base (for example ``...illegal-transition``)
# so clients can branch on it without parsing ``title`` or ``detail``.
PROBLEM_TYPE_BASE = "https://problems.telerehab.example/"

# Problems describe failures, so only client and server error statuses belong in one.
ErrorStatus = Annotated[int, msgspec.Meta(ge=400, le=599)]


class FieldError(msgspec.Struct, frozen=True, omit_defaults=True):
    """One rejected input field."""

    field: Annotated[
        str,
        Meta(description="A path into the request (`frequency_per_week`, `frames[0].landmark_x`, `query:period`)."),
    ]
    message: Annotated[str, Meta(description="What is wrong with it.")]


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An ``application/problem+json`` body.

    ``detail`` explains this occurrence for a human and never carries stack traces, SQL or patient data.
    """

    type: Annotated[
        str,
        Meta(description="A URI naming the problem type; branch on it (`about:blank` for plain HTTP errors)."),
    ] = "about:blank"
    title: Annotated[str, Meta(description="A short summary of the problem type.")]
    status: Annotated[ErrorStatus, Meta(description="The HTTP status code (400-599).")]
    detail: Annotated[
        str | None,
        Meta(description="This occurrence explained for a human; never stack traces, SQL or patient data."),
    ] = None
    instance: Annotated[str | None, Meta(description="A URI of this occurrence (the request path).")] = None
    errors: Annotated[
        list[FieldError] | None,
        Meta(description="Validation problems: every field at fault, so a form can mark them all at once."),
    ] = None
    allowed_transitions: Annotated[
        list[str] | None,
        Meta(description="Illegal-transition problems: the statuses the resource may move to from its current one."),
    ] = None

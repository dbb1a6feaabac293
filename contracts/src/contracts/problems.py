"""RFC 9457 problem details: the body of every error response from both services."""

from typing import Annotated

import msgspec

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Each domain error gets a stable ``type`` URI under this base (for example ``...illegal-transition``)
# so clients can branch on it without parsing ``title`` or ``detail``.
PROBLEM_TYPE_BASE = "https://problems.telerehab.example/"

# Problems describe failures, so only client and server error statuses belong in one.
ErrorStatus = Annotated[int, msgspec.Meta(ge=400, le=599)]


class FieldError(msgspec.Struct, frozen=True, omit_defaults=True):
    """One rejected input field."""

    # A path into the request body such as ``frequency_per_week`` or ``frames[0].landmark_x``.
    field: str
    message: str


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An ``application/problem+json`` body.

    ``detail`` explains this occurrence for a human and never carries stack traces, SQL or patient data.
    """

    type: str = "about:blank"
    title: str
    status: ErrorStatus
    detail: str | None = None
    instance: str | None = None
    # Present on validation problems: every field at fault, so a form can mark them all at once.
    errors: list[FieldError] | None = None
    # Present on illegal-transition problems: the statuses the resource may move to from its current one.
    allowed_transitions: list[str] | None = None

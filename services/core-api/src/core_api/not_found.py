"""The one way a service turns a missing row into a 404."""

from __future__ import annotations

from typing import TypeVar

from service_common.errors import NotFoundError

T = TypeVar("T")


def or_404(row: T | None, message: str) -> T:
    """``row``, or a :class:`NotFoundError` with ``message`` when the caller cannot see it (``None``)."""
    if row is None:
        raise NotFoundError(message)
    return row

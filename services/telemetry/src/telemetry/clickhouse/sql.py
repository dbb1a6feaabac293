"""ClickHouse SQL text built from values: literals, identifiers and query templates filled with them.

ClickHouse 18.16 has no server-side query parameters, so values are written into the SQL text as literals,
on both engines alike. A query is a template, a module-level constant with ``{name}`` placeholders, and
:func:`render` fills each placeholder with the literal of its value (:func:`literal`): a ``str`` is always a
quoted, escaped string, never SQL. SQL itself goes in only as :class:`Sql`: a fragment written in the code,
an :func:`identifier` checked against the plain-identifier pattern, or another rendered template. The
literals are the forms the tables use: ``toUUID('…')`` for UUID columns and ``toDateTime('…', 'UTC')`` for
``DateTime('UTC')`` ones.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Inside a quoted string ClickHouse reads backslash escapes (on 18.16 and 26.x alike): the quote and the
# backslash are escaped, and every control character is written as \xHH, so a NUL never reaches a driver
# as a raw byte and a line break never ends a line of the query.
_STRING_ESCAPES = {ord("\\"): "\\\\", ord("'"): "\\'"} | {code: f"\\x{code:02X}" for code in (*range(0x20), 0x7F)}


class Sql(str):
    """SQL text written in the code, or made from it by :func:`render` or :func:`identifier`: a template
    takes it as it is. Any other ``str`` given to :func:`render` is a value, and becomes a quoted string
    (``str(name)`` turns an identifier back into one)."""

    __slots__ = ()


Value = Sql | str | int | float | date | uuid.UUID | Sequence[str | int | uuid.UUID]
"""What :func:`literal` renders (``bool`` is an ``int``: 1 or 0)."""


def identifier(name: str) -> Sql:
    """``name`` as SQL when it is a plain ClickHouse identifier. Table and column names are never user
    input; this is a guard against a programming mistake turning into SQL injection."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return Sql(name)


def literal(value: Value) -> str:
    """``value`` as ClickHouse SQL: :class:`Sql` as it is, a string quoted and escaped, an integer or a
    finite float as a number, a UUID as ``toUUID('…')``, an aware datetime of whole seconds as
    ``toDateTime('…', 'UTC')``, a date as ``toDate('…')``, and a list or tuple as the parenthesized list
    ``IN`` takes. Raises TypeError for any other type and ValueError for a value with no safe form."""
    if isinstance(value, Sql):
        return value
    for kind, write in _LITERALS:
        if isinstance(value, kind):
            return write(value)
    raise TypeError(f"no ClickHouse literal for {type(value).__name__}")


def _string_literal(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("a string sent to ClickHouse must be valid Unicode (no lone surrogates)") from exc
    return "'" + value.translate(_STRING_ESCAPES) + "'"


def _float_literal(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return repr(value)


def _datetime_literal(value: datetime) -> str:
    # DateTime('UTC') holds whole seconds, and 18.16 reads no fraction in toDateTime.
    if value.tzinfo is None:
        raise ValueError("a datetime sent to ClickHouse carries its time zone")
    if value.microsecond:
        raise ValueError("a DateTime literal holds whole seconds")
    return f"toDateTime('{value.astimezone(UTC):%Y-%m-%d %H:%M:%S}', 'UTC')"


def _list_literal(values: list[Value] | tuple[Value, ...]) -> str:
    if not values:
        raise ValueError("an empty list has no SQL form: IN () is a syntax error")
    return "(" + ", ".join(literal(item) for item in values) + ")"


# In order: a datetime is a date, and a bool an int (1 or 0).
_LITERALS: tuple[tuple[type | tuple[type, ...], Callable[[Any], str]], ...] = (
    (str, _string_literal),
    (int, lambda value: str(int(value))),
    (float, _float_literal),
    (uuid.UUID, lambda value: f"toUUID('{value}')"),
    (datetime, _datetime_literal),
    (date, lambda value: f"toDate('{value.isoformat()}')"),
    ((list, tuple), _list_literal),
)


def render(template: str, /, **values: Value) -> Sql:
    """``template`` with each ``{name}`` replaced by ``literal(values[name])``, in one pass (a value's text is
    never read for placeholders). Raises KeyError for a placeholder without a value and TypeError for a
    value without a placeholder."""
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name = match[1]
        if name not in values:
            raise KeyError(f"no value for {{{name}}}")
        used.add(name)
        return literal(values[name])

    text = _PLACEHOLDER.sub(fill, template)
    if unused := values.keys() - used:
        raise TypeError(f"values without a placeholder: {sorted(unused)}")
    return Sql(text)

"""RFC 8941 Structured Field dictionaries, the syntax of one CMCD report (CTA-5004-B).

A CMCD report is a dictionary such as ``e=ps,sid="6e2f…",ts=1700000000000,sta=p,br=(3200;v 128;a),bs``:
integers, decimals, strings, tokens, byte sequences and booleans (a key alone is ``true``), each with
optional ``;parameters``, or inner lists ``(…)`` of them. :func:`parse_dictionary` follows the RFC's
parsing algorithm (section 4.2) and raises :class:`StructuredFieldError` where the RFC says to fail.
RFC 9651's dates and display strings are not read (no CMCD key uses them). Tokens come back as ``str``,
like strings: CMCD never gives the two a different meaning.
"""

from __future__ import annotations

import base64
import binascii
import string
from dataclasses import dataclass, field

BareItem = int | float | str | bytes | bool
Parameters = dict[str, BareItem]

_KEY_FIRST = frozenset(string.ascii_lowercase + "*")
_KEY_REST = frozenset(string.ascii_lowercase + string.digits + "_-.*")
_TOKEN_FIRST = frozenset(string.ascii_letters + "*")
# tchar (RFC 9110) plus ":" and "/".
_TOKEN_REST = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:/")
_BASE64 = frozenset(string.ascii_letters + string.digits + "+/=")


class StructuredFieldError(ValueError):
    """The text is not a Structured Field dictionary; the message says where."""


@dataclass(frozen=True)
class Item:
    """A bare item with its parameters."""

    value: BareItem
    params: Parameters = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    """A parenthesised list of items, with the list's own parameters."""

    items: list[Item]
    params: Parameters = field(default_factory=dict)


Member = Item | InnerList


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.at += 1
        return char

    def skip(self, chars: str) -> None:
        while self.peek() and self.peek() in chars:
            self.at += 1

    def fail(self, what: str) -> StructuredFieldError:
        return StructuredFieldError(f"{what} at character {self.at + 1}")


def parse_dictionary(text: str) -> dict[str, Member]:
    """The members of a Structured Field dictionary, by key (a repeated key keeps its last value)."""
    reader = _Reader(text)
    reader.skip(" ")
    members: dict[str, Member] = {}
    while reader.peek():
        key = _key(reader)
        if reader.peek() == "=":
            reader.take()
            members[key] = _member(reader)
        else:
            members[key] = Item(True, _parameters(reader))
        reader.skip(" \t")
        if not reader.peek():
            break
        if reader.take() != ",":
            raise reader.fail("expected ',' between members")
        reader.skip(" \t")
        if not reader.peek():
            raise reader.fail("trailing ','")
    return members


def _member(reader: _Reader) -> Member:
    if reader.peek() != "(":
        return Item(_bare_item(reader), _parameters(reader))
    reader.take()
    items: list[Item] = []
    while True:
        reader.skip(" ")
        if reader.peek() == ")":
            reader.take()
            return InnerList(items, _parameters(reader))
        items.append(Item(_bare_item(reader), _parameters(reader)))
        if reader.peek() not in (" ", ")"):
            raise reader.fail("expected ' ' or ')' in an inner list")


def _parameters(reader: _Reader) -> Parameters:
    params: Parameters = {}
    while reader.peek() == ";":
        reader.take()
        reader.skip(" ")
        key = _key(reader)
        value: BareItem = True
        if reader.peek() == "=":
            reader.take()
            value = _bare_item(reader)
        params[key] = value
    return params


def _key(reader: _Reader) -> str:
    if reader.peek() not in _KEY_FIRST:  # "" (the end) is not in it either
        raise reader.fail("expected a key (a lowercase letter or '*')")
    start = reader.at
    reader.skip("".join(_KEY_REST))
    return reader.text[start : reader.at]


def _bare_item(reader: _Reader) -> BareItem:
    char = reader.peek()
    if char == "-" or (char.isascii() and char.isdigit()):
        return _number(reader)
    if char == '"':
        return _string(reader)
    if char and char in _TOKEN_FIRST:
        start = reader.at
        reader.skip("".join(_TOKEN_REST))
        return reader.text[start : reader.at]
    if char == ":":
        return _bytes(reader)
    if char == "?":
        reader.take()
        flag = reader.take()
        if flag not in ("0", "1"):
            raise reader.fail("expected ?0 or ?1")
        return flag == "1"
    raise reader.fail("expected a value")


def _number(reader: _Reader) -> int | float:
    start = reader.at
    if reader.peek() == "-":
        reader.take()
    if not (reader.peek().isascii() and reader.peek().isdigit()):
        raise reader.fail("expected a digit")
    reader.skip(string.digits)
    whole = reader.at - start - (reader.text[start] == "-")
    if reader.peek() != ".":
        if whole > 15:
            raise reader.fail("an integer has at most 15 digits")
        return int(reader.text[start : reader.at])
    reader.take()
    fraction_start = reader.at
    reader.skip(string.digits)
    fraction = reader.at - fraction_start
    if whole > 12 or not 1 <= fraction <= 3:
        raise reader.fail("a decimal has at most 12 integer and 1 to 3 fractional digits")
    return float(reader.text[start : reader.at])


def _string(reader: _Reader) -> str:
    reader.take()
    chars: list[str] = []
    while True:
        char = reader.take()
        if char == "":
            raise reader.fail("unterminated string")
        if char == "\\":
            escaped = reader.take()
            if escaped not in ('"', "\\"):
                raise reader.fail('only \\" and \\\\ may be escaped in a string')
            chars.append(escaped)
        elif char == '"':
            return "".join(chars)
        elif not " " <= char <= "~":
            raise reader.fail("a string holds printable ASCII only")
        else:
            chars.append(char)


def _bytes(reader: _Reader) -> bytes:
    reader.take()
    start = reader.at
    reader.skip("".join(_BASE64))
    if reader.take() != ":":
        raise reader.fail("unterminated byte sequence")
    try:
        return base64.b64decode(reader.text[start : reader.at - 1], validate=True)
    except binascii.Error as exc:
        raise reader.fail("invalid base64 in a byte sequence") from exc

"""Remove personal data a client may have put into free text (error messages and stack traces).

The client is asked not to send any, but an exception message can quote whatever the app was handling:
an e-mail address typed into a form, a bearer token in a failed request's URL, a phone or record number.
Each match becomes a fixed placeholder, so reports stay groupable by message.
"""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Query strings carry search terms and identifiers; the path is enough to find the failing call.
    (re.compile(r"(https?://[^\s?#\"'()<>]+)\?[^\s#\"'()<>]*"), r"\1?<query>"),
    # JWTs and bearer credentials first: they contain dots and digits the later patterns would split.
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"), "<token>"),
    (re.compile(r"(?i)\b(bearer|token|password|secret|api[_-]?key)([=:\s]+)[^\s&\"',;]+"), r"\1\2<redacted>"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "<ip>"),
    (re.compile(r"\b(?:[0-9A-Fa-f]{1,4}:){4,7}[0-9A-Fa-f]{1,4}\b"), "<ip>"),
    # Phone, record and card numbers: six digits or more, optionally grouped by spaces or dashes.
    (re.compile(r"(?<![\w.])\+?\d(?:[ -]?\d){5,}(?![\w.])"), "<number>"),
)


def scrub(text: str) -> str:
    """``text`` with e-mail addresses, tokens, IP addresses, URL query strings and long numbers replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text

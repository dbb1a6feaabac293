"""Free text from clients loses e-mail addresses, tokens, IPs, query strings and long numbers."""

from __future__ import annotations

import pytest
from telemetry.error_reports.scrub import scrub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("failed for jane.doe+rehab@example.co.uk", "failed for <email>"),
        ("GET /x Authorization: Bearer abc.def-ghi", "GET /x Authorization: Bearer <redacted>"),
        ("jwt eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln leaked", "jwt <token> leaked"),
        ("password=hunter2&x=1", "password=<redacted>&x=1"),
        ("peer 192.168.10.20 refused", "peer <ip> refused"),
        ("peer 2001:db8:0:0:0:ff00:42:8329 refused", "peer <ip> refused"),
        ("at https://api.example/v1/patients?name=Jane%20Doe#x", "at https://api.example/v1/patients?<query>#x"),
        ("call +1 555 123 4567 now", "call <number> now"),
        ("record 00123456", "record <number>"),
        ("TypeError at main.js:120:17 (v1.4.2, 3 retries)", "TypeError at main.js:120:17 (v1.4.2, 3 retries)"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected

"""Telemetry tokens live at most as long as core-api issues them for (telemetry.identity, telemetry.settings).

Issue 15, item 9: telemetry accepted a token valid for a century, or with ``exp`` as a string. core-api
issues telemetry tokens for at most 600 seconds (TELEMETRY_TOKEN_TTL_SECONDS), so telemetry's
AUTH_MAX_TOKEN_LIFETIME_SECONDS defaults to that.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from service_common.auth.errors import AuthenticationError
from telemetry.identity import TelemetryVerifier
from telemetry.settings import load_settings

from tools.tokens import mint_telemetry_token


def verify(dev_keys: Path, monkeypatch: pytest.MonkeyPatch, **token: Any) -> str:
    monkeypatch.delenv("AUTH_MAX_TOKEN_LIFETIME_SECONDS", raising=False)
    monkeypatch.delenv("AUTH_JWKS_URL", raising=False)
    monkeypatch.setenv("AUTH_JWKS_FILE", str(dev_keys / "jwks.json"))
    verifier = TelemetryVerifier(load_settings().auth)
    minted = mint_telemetry_token(
        dev_keys, actor_hash="actor_lifetime", org_hash="org_lifetime", consent_level=3, **token
    )
    return asyncio.run(verifier.verify(minted)).actor_hash


def test_a_token_as_long_as_core_api_issues_is_accepted(dev_keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert verify(dev_keys, monkeypatch, ttl_seconds=600) == "actor_lifetime"


@pytest.mark.parametrize(
    "token",
    [{"ttl_seconds": 601}, {"ttl_seconds": 100 * 365 * 86400}, {"exp": "9999999999"}],
    ids=["a second longer", "a century", "exp as a numeric string"],
)
def test_a_longer_token_is_refused(dev_keys: Path, monkeypatch: pytest.MonkeyPatch, token: dict[str, Any]) -> None:
    with pytest.raises(AuthenticationError):
        verify(dev_keys, monkeypatch, **token)

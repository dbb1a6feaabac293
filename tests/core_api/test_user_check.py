"""A signed token counts only while its user exists, is active and matches the token (core_api.user_check).

Issue 15, item 9: an admin token for a user id that does not exist worked, as did a patient token whose
``sub`` was another user than the patient's; a deleted user kept access for as long as their tokens lasted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import msgspec
import psycopg
import pytest
from core_api.app import create_app
from core_api.db.pool import create_pool
from core_api.settings import DatabaseSettings
from core_api.user_check import UserCheckingVerifier
from litestar.testing import TestClient
from service_common.auth.errors import AuthenticationError
from service_common.auth.settings import AuthSettings

from tests.core_api.helpers.responses import Client
from tests.core_api.helpers.settings import app_settings
from tests.core_api.seed import Org
from tests.service_common.fake_clock import FakeClock
from tools.databases import PostgresUrls
from tools.tokens import mint_token

# A route every role may call, reading PostgreSQL; the patients call it for their own record.
PATIENT = "/v1/patients/{}"
REFUSED_DETAIL = "The token's user does not exist, is deactivated, or does not match"


def bearer(org: Org, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(org.keys, **claims)}"}


def refused(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["detail"].startswith(REFUSED_DETAIL)


def test_the_seeded_users_get_in(core_api: Client, org: Org) -> None:
    for role, patient in (("admin", org.patient), ("specialist", org.patient), ("patient", org.patient),
                          ("other_patient", org.other_patient)):  # fmt: skip
        assert core_api.get(PATIENT.format(patient), headers=org.headers(role)).status_code == 200, role


def test_a_user_id_that_does_not_exist_is_refused(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    row = superuser.execute("SELECT max(id) + 1000 FROM users").fetchone()
    assert row is not None
    refused(
        core_api.get(
            PATIENT.format(org.patient), headers=bearer(org, user_id=row[0], role="admin", organization_id=org.id)
        )
    )


@pytest.mark.parametrize(
    "case",
    [
        "patient token of another patient's user",
        "patient token of a staff user",
        "admin token of a specialist",
        "specialist token of a patient's user",
        "admin of another organization",
    ],
)
def test_claims_that_disagree_with_the_stored_user_are_refused(
    core_api: Client, org: Org, other_org: Org, case: str
) -> None:
    claims: dict[str, Any] = {
        "patient token of another patient's user": {
            "user_id": org.other_patient_user, "role": "patient", "patient_id": org.patient
        },
        "patient token of a staff user": {"user_id": org.specialist_user, "role": "patient", "patient_id": org.patient},
        "admin token of a specialist": {"user_id": org.specialist_user, "role": "admin"},
        "specialist token of a patient's user": {"user_id": org.patient_user, "role": "specialist"},
        "admin of another organization": {"user_id": other_org.admin_user, "role": "admin"},
    }[case]  # fmt: skip
    refused(core_api.get(PATIENT.format(org.patient), headers=bearer(org, organization_id=org.id, **claims)))


@pytest.fixture
def uncached_core_api(postgres: PostgresUrls, auth_settings: AuthSettings) -> Iterator[Client]:
    """core-api checking the user on every request (AUTH_USER_CHECK_CACHE_SECONDS=0)."""
    settings = app_settings(
        postgres, msgspec.structs.replace(auth_settings, user_check_cache_seconds=0), pool_max_size=2
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("role", ["admin", "specialist", "patient"])
def test_a_deleted_user_is_refused_at_the_next_check(
    uncached_core_api: Client, org: Org, superuser: psycopg.Connection, role: str
) -> None:
    user = {"admin": org.admin_user, "specialist": org.specialist_user, "patient": org.patient_user}[role]
    assert uncached_core_api.get(PATIENT.format(org.patient), headers=org.headers(role)).status_code == 200
    superuser.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (user,))
    refused(uncached_core_api.get(PATIENT.format(org.patient), headers=org.headers(role)))


def test_a_patient_unlinked_from_their_user_is_refused(
    uncached_core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    """What the retention job does when it strips an erased patient's identity."""
    superuser.execute("UPDATE patients SET user_id = NULL WHERE id = %s", (org.patient,))
    refused(uncached_core_api.get(PATIENT.format(org.patient), headers=org.headers("patient")))


def test_a_deleted_user_loses_access_within_the_cache_period(
    postgres: PostgresUrls, auth_settings: AuthSettings, org: Org, superuser: psycopg.Connection
) -> None:
    clock = FakeClock()
    settings = msgspec.structs.replace(auth_settings, user_check_cache_seconds=60)
    token = mint_token(org.keys, user_id=org.specialist_user, role="specialist", organization_id=org.id)

    async def scenario() -> None:
        pool = create_pool(DatabaseSettings(url=postgres.app, pool_min_size=1, pool_max_size=1))
        await pool.open()
        try:
            verifier = UserCheckingVerifier(settings, pool, clock=clock)
            assert (await verifier.verify(token)).user_id == org.specialist_user
            superuser.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (org.specialist_user,))
            clock.now += 59  # remembered: no query, still in
            assert (await verifier.verify(token)).user_id == org.specialist_user
            clock.now += 2  # the period is over: asked again, and refused
            with pytest.raises(AuthenticationError, match="does not exist, is deactivated"):
                await verifier.verify(token)
            clock.now += 1  # a refusal is not remembered as a pass
            with pytest.raises(AuthenticationError):
                await verifier.verify(token)
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_a_patient_who_asked_for_erasure_is_refused_at_the_next_check(uncached_core_api: Client, org: Org) -> None:
    """The erasure request soft-deletes the patient record; the patient's tokens stop working with it."""
    erase = uncached_core_api.post(f"/v1/patients/{org.patient}/erasure", headers=org.headers("patient"))
    assert erase.status_code == 202, erase.text
    refused(uncached_core_api.get(PATIENT.format(org.patient), headers=org.headers("patient")))

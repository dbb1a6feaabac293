"""Consent records, telemetry tokens and their keys, and consent gating end to end across both services.

The end-to-end tests run core-api and telemetry as real processes: telemetry verifies the tokens core-api
issues against core-api's /.well-known/jwks.json, and writes to the real ClickHouse server.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from tests.core_api.helpers.consent import consent, consent_form, submit_form
from tests.core_api.helpers.execution import enroll, start, today
from tests.core_api.helpers.responses import Client, ok
from tests.core_api.helpers.two_services import TELEMETRY_AUDIENCE, TELEMETRY_ISSUER, TwoServices
from tests.core_api.seed import Org
from tests.telemetry.helpers.payloads import ERROR_REPORT, pose_batch, pose_frame
from tools.databases import PostgresUrls
from tools.tokens import TELEMETRY_HASH_KEY_FILE, TELEMETRY_SIGNING_KEY_FILE


def token(client: Client, org: Org, role: str = "patient") -> Any:
    return ok(client.post("/v1/telemetry/token", headers=org.headers(role)))


def submit_paper(client: Client, org: Org, instance: int, role: str = "specialist", **responses: Any) -> Any:
    body = {"responses": responses, "document_reference": "scan-2026-0042", "reason": "signed in clinic"}
    return client.post(f"/v1/form-instances/{instance}/paper-submission", json=body, headers=org.headers(role))


def current(client: Client, org: Org) -> tuple[int, bool]:
    state = ok(client.get(f"/v1/patients/{org.patient}/consent", headers=org.headers("patient")))
    return state["analytics_level"], state["biometric"]


# Consent records ----------------------------------------------------------------------------------------------


def test_no_record_means_nothing_is_collected(core_api: Client, org: Org) -> None:
    state = ok(core_api.get(f"/v1/patients/{org.patient}/consent", headers=org.headers("patient")))
    assert state == {
        "patient_id": org.patient,
        "analytics_level": 0,
        "biometric": False,
        "pose_tracking_allowed": False,
        "history": [],
    }


def test_a_patient_grants_and_revokes_with_full_history_and_audit(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    ok(consent(core_api, org, analytics_level=3, biometric=True))
    granted = ok(core_api.get(f"/v1/patients/{org.patient}/consent", headers=org.headers("specialist")))
    assert (granted["analytics_level"], granted["biometric"], granted["pose_tracking_allowed"]) == (3, True, True)
    revoked = ok(consent(core_api, org, biometric=False, reason="not comfortable with the camera"))
    assert (revoked["analytics_level"], revoked["biometric"], revoked["pose_tracking_allowed"]) == (3, False, False)
    assert [(r["kind"], r["granted"], r["recorded_by_role"]) for r in revoked["history"]] == [
        ("biometric", False, "patient"),
        ("biometric", True, "patient"),
        ("analytics", True, "patient"),
    ]
    assert revoked["history"][0]["reason"] == "not comfortable with the camera"
    audit = superuser.execute(
        "SELECT before, after FROM audit_log WHERE action = 'patient_consent.changed' AND entity_id = %s ORDER BY id",
        (str(org.patient),),
    ).fetchall()
    assert [(b["biometric"], a["biometric"]) for b, a in audit] == [(False, True), (True, False)]


def test_the_history_cannot_be_rewritten_by_the_app_role(postgres: PostgresUrls, org: Org, core_api: Client) -> None:
    ok(consent(core_api, org, analytics_level=2))
    with psycopg.connect(postgres.app) as conn:
        conn.execute("SELECT set_config('app.organization_id', %s, false)", (str(org.id),))
        for statement in ("UPDATE patient_consents SET granted = false", "DELETE FROM patient_consents"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
            conn.execute("SELECT set_config('app.organization_id', %s, false)", (str(org.id),))


def test_staff_record_consent_only_with_the_submitted_consent_form(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    missing = consent(core_api, org, "specialist", biometric=True)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "form_instance_id"
    pending = consent_form(superuser, org, org.patient, given=None)
    other_patients = consent_form(superuser, org, org.other_patient, given=True)
    not_submitted_by_the_patient = consent_form(superuser, org, org.patient, given=True)
    for evidence in (pending, other_patients, org.form_template, not_submitted_by_the_patient):
        refused = consent(core_api, org, "specialist", biometric=True, form_instance_id=evidence)
        assert refused.status_code == 422, evidence
        assert refused.json()["errors"][0]["field"] == "form_instance_id"
    evidence = consent_form(superuser, org, org.patient, given=None)
    ok(submit_form(core_api, org, evidence, biometric_consent=True))
    ok(consent(core_api, org, "specialist", biometric=False, form_instance_id=evidence))
    recorded = ok(consent(core_api, org, "admin", biometric=True, form_instance_id=evidence))
    assert recorded["biometric"] is True
    assert (
        recorded["history"][0]["form_instance_id"],
        recorded["history"][0]["recorded_by_role"],
        recorded["history"][0]["source"],
    ) == (evidence, "admin", "staff")


def test_staff_cannot_override_a_patients_refusal(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    """Issue #15 item 1, as reproduced: the patient refuses on the form and in the app; a specialist's
    level 3 with biometrics, citing that form, is refused and changes nothing."""
    form = consent_form(superuser, org, org.patient, given=None)
    ok(submit_form(core_api, org, form, biometric_consent=False))
    ok(consent(core_api, org, analytics_level=1, biometric=False))
    overridden = consent(core_api, org, "specialist", analytics_level=3, biometric=True, form_instance_id=form)
    assert overridden.status_code == 422
    assert overridden.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in overridden.json()["errors"]} == {"analytics_level", "biometric"}
    assert current(core_api, org) == (1, False)
    issued = token(core_api, org)
    assert (issued["consent_level"], issued["biometric"]) == (1, False)


def test_staff_record_no_more_than_the_patients_latest_form_and_never_after_a_revocation(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    form = consent_form(superuser, org, org.patient, given=None)
    submitted = ok(submit_form(core_api, org, form, biometric_consent=True, analytics_level=2))
    assert submitted["status"] == "submitted"
    state = ok(core_api.get(f"/v1/patients/{org.patient}/consent", headers=org.headers("specialist")))
    assert (state["analytics_level"], state["biometric"]) == (2, True)
    assert {r["source"] for r in state["history"]} == {"consent_form"}
    beyond = consent(core_api, org, "specialist", analytics_level=3, form_instance_id=form)
    assert beyond.status_code == 422
    assert beyond.json()["errors"] == [
        {"field": "analytics_level", "message": "the consent form grants level 2 at most"}
    ]
    # Within what the form grants, staff may record (here: lower, then restore).
    ok(consent(core_api, org, "specialist", analytics_level=1, form_instance_id=form))
    ok(consent(core_api, org, "specialist", analytics_level=2, form_instance_id=form))
    # The patient's own revocation wins over the older form, for good.
    ok(consent(core_api, org, biometric=False))
    for role in ("specialist", "admin"):
        stale = consent(core_api, org, role, biometric=True, form_instance_id=form)
        assert stale.status_code == 409
        assert stale.json()["type"].endswith("/consent-superseded")
        assert stale.json()["errors"][0]["field"] == "form_instance_id"
    assert current(core_api, org) == (2, False)


def test_staff_cannot_submit_a_consent_form_for_the_patient(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    form = consent_form(superuser, org, org.patient, given=None)
    for role in ("specialist", "admin"):
        refused = submit_form(core_api, org, form, role, biometric_consent=True, analytics_level=3)
        assert refused.status_code == 403
        assert "paper-submission" in refused.json()["detail"]
    instance = ok(core_api.get(f"/v1/form-instances/{form}", headers=org.headers("patient")))
    assert instance["status"] == "pending"
    assert current(core_api, org) == (0, False)


def test_a_paper_form_is_entered_by_staff_audited_and_cannot_overrule_the_app(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    paper = consent_form(superuser, org, org.patient, given=None)
    assert submit_paper(core_api, org, paper, "patient", biometric_consent=True).status_code == 403
    entered = ok(submit_paper(core_api, org, paper, biometric_consent=True, analytics_level=2))
    assert entered["status"] == "submitted"
    state = ok(core_api.get(f"/v1/patients/{org.patient}/consent", headers=org.headers("patient")))
    assert (state["analytics_level"], state["biometric"]) == (2, True)
    assert {(r["source"], r["recorded_by_role"], r["form_instance_id"]) for r in state["history"]} == {
        ("paper_form", "specialist", paper)
    }
    (actor, after) = superuser.execute(
        "SELECT actor_user_id, after FROM audit_log WHERE action = 'form_instance.submitted_on_paper' "
        "AND entity_id = %s",
        (str(paper),),
    ).fetchone() or (None, None)
    assert actor == org.specialist_user
    assert (after["document_reference"], after["reason"]) == ("scan-2026-0042", "signed in clinic")
    # The paper form is the patient's statement: staff may cite it, within its answers.
    ok(consent(core_api, org, "admin", analytics_level=1, form_instance_id=paper))

    # Once the patient has decided in the app, paper cannot grant more than they allow now.
    ok(consent(core_api, org, analytics_level=2, biometric=False))
    later = consent_form(superuser, org, org.patient, given=None)
    overruled = submit_paper(core_api, org, later, "admin", biometric_consent=True, analytics_level=2)
    assert overruled.status_code == 409
    assert overruled.json()["type"].endswith("/consent-superseded")
    assert ok(core_api.get(f"/v1/form-instances/{later}", headers=org.headers("patient")))["status"] == "pending"
    assert current(core_api, org) == (2, False)
    # A paper form that grants no more (a written revocation) is entered.
    ok(submit_paper(core_api, org, later, biometric_consent=False, analytics_level=1))
    assert current(core_api, org) == (1, False)


def test_a_paper_submission_is_for_consent_forms_only(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    post_session = int(
        superuser.execute(
            "INSERT INTO form_instances (organization_id, patient_id, form_template_id, status) "
            "VALUES (%s, %s, %s, 'pending') RETURNING id",
            (org.id, org.patient, org.form_template),
        ).fetchone()[0]  # type: ignore[index]
    )
    refused = submit_paper(core_api, org, post_session, pain_level=1)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "instance_id", "message": "not a consent form"}]


def test_consent_answers_must_be_consent_values(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    """A template may ask ``analytics_level`` on a wider scale, or ``biometric_consent`` as text: such
    answers cannot stand for consent and are a 422 naming the answer, not a 500 or a silent grant."""
    questions = [
        {"type": "scale", "id": "analytics_level", "prompt": "Level", "min": 0, "max": 5},
        {"type": "choice", "id": "biometric_consent", "prompt": "Camera?", "options": ["yes", "no"], "required": False},
    ]
    form = consent_form(superuser, org, org.patient, given=None, questions=questions)
    refused = submit_form(core_api, org, form, analytics_level=5, biometric_consent="yes")
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {
        "responses.analytics_level",
        "responses.biometric_consent",
    }
    assert current(core_api, org) == (0, False)
    ok(submit_form(core_api, org, form, analytics_level=3))
    assert current(core_api, org) == (3, False)


def test_consent_of_other_patients_and_organizations_is_404(core_api: Client, org: Org, other_org: Org) -> None:
    assert core_api.get(f"/v1/patients/{org.other_patient}/consent", headers=org.headers("patient")).status_code == 404
    assert consent(core_api, org, patient=org.other_patient, analytics_level=2).status_code == 404
    assert core_api.get(f"/v1/patients/{org.patient}/consent", headers=other_org.headers("admin")).status_code == 404
    assert consent(core_api, org, analytics_level=4).status_code == 422
    assert consent(core_api, org).status_code == 422  # nothing to change


def test_submitting_the_consent_form_grants_biometric_consent(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    instance = consent_form(superuser, org, org.patient, given=None)
    ok(submit_form(core_api, org, instance, biometric_consent=True))
    state = ok(core_api.get(f"/v1/patients/{org.patient}/consent", headers=org.headers("patient")))
    assert state["biometric"] is True
    assert (state["history"][0]["form_instance_id"], state["history"][0]["reason"]) == (
        instance,
        "consent form submitted",
    )


def test_today_and_start_say_whether_pose_tracking_is_allowed(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    enrollment = enroll(core_api, superuser, org)
    assert today(core_api, org)["pose_tracking_allowed"] is False
    ok(consent(core_api, org, analytics_level=2, biometric=True))
    assert today(core_api, org)["pose_tracking_allowed"] is True
    started = ok(start(core_api, org, enrollment["id"], 1), 201)
    assert started["pose_tracking_allowed"] is True
    ok(consent(core_api, org, biometric=False))
    assert today(core_api, org)["pose_tracking_allowed"] is False
    again = ok(start(core_api, org, enrollment["id"], 1))  # the same session, resumed
    assert (again["id"], again["pose_tracking_allowed"]) == (started["id"], False)
    detail = ok(core_api.get(f"/v1/patient-session-completions/{started['id']}", headers=org.headers("patient")))
    assert detail["pose_tracking_allowed"] is None


# Telemetry tokens --------------------------------------------------------------------------------------------


def test_a_patient_token_carries_hashes_and_consent_and_no_pii(core_api: Client, org: Org, other_org: Org) -> None:
    ok(consent(core_api, org, analytics_level=2, biometric=True))
    issued = token(core_api, org)
    keys = ok(core_api.get("/.well-known/jwks.json"))
    key = jwt.PyJWK(keys["keys"][0])
    claims = jwt.decode(issued["token"], key.key, algorithms=["EdDSA"], audience=TELEMETRY_AUDIENCE)
    assert jwt.get_unverified_header(issued["token"])["kid"] == keys["keys"][0]["kid"]
    assert set(claims) == {"iss", "aud", "sub", "org", "role", "consent_level", "biometric", "iat", "exp"}
    assert (claims["iss"], claims["role"], claims["consent_level"], claims["biometric"]) == (
        TELEMETRY_ISSUER,
        "patient",
        2,
        True,
    )
    assert claims["sub"] == issued["actor_hash"]
    assert 0 < claims["exp"] - time.time() <= 600
    # Nothing that names the person or their ids: the claims are opaque 43-character keyed hashes.
    text = json.dumps(claims)
    for value in (org.patient, org.patient_user, org.id):
        assert f'"{value}"' not in text
        assert f": {value}," not in text
    assert len(claims["sub"]) == len(claims["org"]) == 43
    # Stable per patient, different per patient and per organization.
    assert token(core_api, org)["actor_hash"] == claims["sub"]
    other = jwt.decode(token(core_api, other_org)["token"], key.key, algorithms=["EdDSA"], audience=TELEMETRY_AUDIENCE)
    assert (other["sub"], other["org"]) != (claims["sub"], claims["org"])


def test_staff_tokens_are_for_reading_only(core_api: Client, org: Org) -> None:
    issued = token(core_api, org, "specialist")
    claims = jwt.decode(issued["token"], options={"verify_signature": False})
    assert (claims["role"], claims["consent_level"], claims["biometric"]) == ("staff", 0, False)


def test_the_key_set_publishes_the_previous_key_during_a_rotation(postgres: PostgresUrls, dev_keys: Path) -> None:
    from core_api.settings import TelemetryTokenSettings
    from core_api.telemetry_tokens import TelemetryTokenIssuer
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    previous = dev_keys / "previous-telemetry.pem"
    if not previous.exists():
        previous.write_bytes(
            Ed25519PrivateKey.generate()
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    issuer = TelemetryTokenIssuer(
        TelemetryTokenSettings(
            signing_key_file=str(dev_keys / TELEMETRY_SIGNING_KEY_FILE),
            hash_key_file=str(dev_keys / TELEMETRY_HASH_KEY_FILE),
            published_key_files=[str(previous)],
        )
    )
    kids = [key.kid for key in issuer.jwks().keys]
    assert len(kids) == len(set(kids)) == 2
    signed, _ = issuer.issue(actor_hash="a", org_hash="o", role="patient", consent_level=1, biometric=False)
    assert jwt.get_unverified_header(signed)["kid"] == kids[0]


def test_without_keys_the_token_route_is_503_not_500(tmp_path: Path) -> None:
    from core_api.settings import TelemetryTokenSettings
    from core_api.telemetry_tokens import TelemetryTokenIssuer
    from service_common.errors import ServiceUnavailableError

    issuer = TelemetryTokenIssuer(
        TelemetryTokenSettings(signing_key_file=str(tmp_path / "none.pem"), hash_key_file=str(tmp_path / "none"))
    )
    with pytest.raises(ServiceUnavailableError):
        issuer.jwks()
    with pytest.raises(ServiceUnavailableError):
        issuer.keyed_hash("patient", 1)


# End to end: core-api issues, telemetry verifies and gates ------------------------------------------------------


def test_level_one_stores_only_error_reports(services: TwoServices, org: Org) -> None:
    issued = services.token(org, analytics_level=1, biometric=True)
    assert services.send(issued["token"], "/v1/errors/report", ERROR_REPORT).status_code == 202
    refused = services.send(issued["token"], "/v1/pose/frames", pose_batch(pose_frame(1)))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert services.stored("error_reports", issued["actor_hash"]) == 1
    assert services.stored("pose_tracking_frames", issued["actor_hash"]) == 0


def test_without_biometric_consent_no_pose_frame_is_stored_and_revocation_ends_with_the_token(
    services: TwoServices, org: Org
) -> None:
    without = services.token(org, analytics_level=2, biometric=False)
    assert services.send(without["token"], "/v1/pose/frames", pose_batch(pose_frame(1))).status_code == 403
    assert services.stored("pose_tracking_frames", without["actor_hash"]) == 0

    granted = services.token(org, biometric=True)
    assert services.send(granted["token"], "/v1/pose/frames", pose_batch(pose_frame(1))).status_code == 202
    assert services.stored("pose_tracking_frames", granted["actor_hash"]) == 1

    services.set_consent(org, biometric=False)
    # The token issued before the revocation works until it expires (3 s here, 10 min at most), then not.
    time.sleep(max(0.0, _expiry(granted["token"]) - time.time()) + 1.0)
    expired = services.send(granted["token"], "/v1/pose/frames", pose_batch(pose_frame(2)))
    assert expired.status_code == 401
    renewed = services.token(org)
    assert renewed["biometric"] is False
    assert services.send(renewed["token"], "/v1/pose/frames", pose_batch(pose_frame(3))).status_code == 403
    assert services.stored("pose_tracking_frames", granted["actor_hash"]) == 1


def test_erasure_stops_ingest_within_the_token_lifetime(services: TwoServices, org: Org) -> None:
    """The bound of docs/privacy.md: after an erasure request no token is issued, and the one issued before
    it is refused by telemetry once it expires (3 s here; TELEMETRY_TOKEN_TTL_SECONDS, 600 s at most)."""
    core_url = services.core_url
    before = services.token(org, analytics_level=2, biometric=True)
    erased = httpx.post(f"{core_url}/v1/patients/{org.patient}/erasure", headers=org.headers("patient"), timeout=10)
    assert erased.status_code == 202, erased.text
    assert httpx.post(f"{core_url}/v1/telemetry/token", headers=org.headers("patient"), timeout=10).status_code == 404
    time.sleep(max(0.0, _expiry(before["token"]) - time.time()) + 1.0)
    late = services.send(before["token"], "/v1/pose/frames", pose_batch(pose_frame(1)))
    assert late.status_code == 401
    assert services.stored("pose_tracking_frames", before["actor_hash"]) == 0


def test_the_token_lifetime_cannot_be_set_above_ten_minutes() -> None:
    from core_api.settings import TelemetryTokenSettings
    from service_common.settings import SettingsError, from_env

    assert (
        from_env(TelemetryTokenSettings, "TELEMETRY_TOKEN_", {"TELEMETRY_TOKEN_TTL_SECONDS": "600"}).ttl_seconds == 600
    )
    with pytest.raises(SettingsError, match="TELEMETRY_TOKEN_TTL_SECONDS"):
        from_env(TelemetryTokenSettings, "TELEMETRY_TOKEN_", {"TELEMETRY_TOKEN_TTL_SECONDS": "601"})


def _expiry(signed: str) -> float:
    payload = signed.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"])

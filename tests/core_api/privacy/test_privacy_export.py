"""GDPR export: the product's JSON and the FHIR R4 Bundle, validated by fhir.resources."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fhir.resources.R4B.bundle import Bundle

from tests.core_api.helpers.consent import consent, consent_form, submit_form
from tests.core_api.helpers.execution import complete, enroll, start
from tests.core_api.helpers.responses import Client, ok
from tests.core_api.seed import Org


def export(client: Client, org: Org, role: str = "patient", **params: Any) -> Any:
    return client.get(f"/v1/patients/{org.patient}/export", params=params, headers=org.headers(role))


def activity(client: Client, org: Org, conn: psycopg.Connection) -> dict[str, Any]:
    """An enrollment with one completed session (pain 6 → 3, difficulty 4), a consent history and a
    submitted consent form."""
    enrollment = enroll(client, conn, org)
    started = ok(start(client, org, enrollment["id"], 1, pain_level_before=6), 201)
    ok(complete(client, org, started["id"], pain_level_after=3, perceived_difficulty=4))
    ok(consent(client, org, analytics_level=2, biometric=True))
    ok(consent(client, org, biometric=False))
    instance = consent_form(conn, org, org.patient, given=None)
    ok(submit_form(client, org, instance, biometric_consent=True))
    return {"enrollment": enrollment, "completion": started, "form": instance}


def test_the_json_export_holds_every_section(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    made = activity(core_api, org, superuser)
    body = ok(export(core_api, org))
    assert body["resourceType"] == "TelerehabPatientExport"
    assert body["patient"]["id"] == org.patient
    assert "organization_id" not in body["patient"]
    assert [e["id"] for e in body["enrollments"]] == [made["enrollment"]["id"]]
    assert body["enrollments"][0]["plan"]["sessions"]
    assert [(c["id"], c["pain_level_before"], c["pain_level_after"]) for c in body["session_completions"]] == [
        (made["completion"]["id"], 6, 3)
    ]
    assert len(body["exercise_logs"]) == 2
    assert {f["id"] for f in body["form_instances"]} >= {made["form"]}
    assert [c["kind"] for c in body["consents"]] == ["analytics", "biometric", "biometric", "biometric"]
    actions = {a["action"] for a in body["audit_entries"]}
    assert {"patient_consent.changed", "patient_session_completion.started", "form_instance.submitted"} <= actions
    # The export itself is audited.
    exported = superuser.execute(
        "SELECT actor_role FROM audit_log WHERE action = 'patient.exported' AND entity_id = %s", (str(org.patient),)
    ).fetchall()
    assert exported == [("patient",)]


def test_the_fhir_export_is_a_valid_r4_bundle(core_api: Client, org: Org, superuser: psycopg.Connection) -> None:
    activity(core_api, org, superuser)
    body = ok(export(core_api, org, "admin", format="fhir"))
    bundle = Bundle.model_validate(body)  # fhir.resources validates every resource against the spec
    assert bundle.type == "collection"
    entries: list[Any] = list(bundle.entry or [])
    kinds = [entry.resource.get_resource_type() for entry in entries]
    assert kinds.count("Patient") == 1
    assert kinds.count("CarePlan") == 1
    assert kinds.count("Observation") == 3  # pain before, pain after, difficulty
    assert kinds.count("QuestionnaireResponse") >= 1
    assert kinds.count("Consent") == 4
    resources: dict[str, Any] = {str(entry.fullUrl): entry.resource for entry in entries}
    patient_url = next(url for url, r in resources.items() if r.get_resource_type() == "Patient")
    # Every reference resolves inside the bundle.
    for resource in resources.values():
        for field in ("subject", "patient"):
            reference = getattr(resource, field, None)
            if reference is not None:
                assert reference.reference == patient_url
    observations = [r for r in resources.values() if r.get_resource_type() == "Observation"]
    pain = sorted(o.valueInteger for o in observations if o.code.coding[0].code == "72514-3")
    assert pain == [3, 6]
    [care_plan] = [r for r in resources.values() if r.get_resource_type() == "CarePlan"]
    assert care_plan.status == "active"
    assert all(o.basedOn[0].reference in resources for o in observations)
    consents = [r for r in resources.values() if r.get_resource_type() == "Consent"]
    assert sorted((c.status, c.provision.type) for c in consents) == [
        ("active", "permit"),
        ("active", "permit"),
        ("inactive", "deny"),
        ("inactive", "permit"),
    ]
    responses = [r for r in resources.values() if r.get_resource_type() == "QuestionnaireResponse"]
    [consent_answer] = [
        item
        for r in responses
        if r.status == "completed"
        for item in r.item or []
        if item.linkId == "biometric_consent"
    ]
    assert consent_answer.answer[0].valueBoolean is True


@pytest.mark.parametrize("role", ["specialist"])
def test_only_the_patient_and_admins_export(core_api: Client, org: Org, other_org: Org, role: str) -> None:
    assert export(core_api, org, role).status_code == 403
    assert core_api.get(f"/v1/patients/{org.patient}/export", headers=other_org.headers("admin")).status_code == 404
    other = core_api.get(f"/v1/patients/{org.other_patient}/export", headers=org.headers("patient"))
    assert other.status_code == 404
    assert export(core_api, org, format="xml").status_code == 422


def test_the_exports_hold_measured_figures_apart_from_reported_ones(
    core_api: Client, org: Org, superuser: psycopg.Connection
) -> None:
    made = activity(core_api, org, superuser)
    completion_id = made["completion"]["id"]
    # As the app reported (Quad Set) and as the evidence collector stores what telemetry measured.
    superuser.execute(
        "UPDATE patient_exercise_logs SET video_watch_percentage = 90, actual_reps = 10, pose_accuracy_score = 85, "
        "evidence_state = 'contradicted', measured_watch_percentage = 20.5, measured_reps = 4, mean_form_score = 61, "
        'evidence = \'{"pose": {"frames": 120, "reps_counted": 4}}\', '
        "evidence_collected_at = '2026-02-09T10:00:00Z' WHERE session_completion_id = %s AND sort_order = 0",
        (completion_id,),
    )
    superuser.execute(
        "UPDATE patient_session_completions SET evidence_state = 'contradicted' WHERE id = %s", (completion_id,)
    )

    body = ok(export(core_api, org))
    [completion] = body["session_completions"]
    assert completion["evidence_state"] == "contradicted"
    quad = next(log for log in body["exercise_logs"] if log["sort_order"] == 0)
    assert (quad["evidence_state"], quad["measured_watch_percentage"], quad["measured_reps"]) == (
        "contradicted",
        20.5,
        4,
    )
    assert (quad["mean_form_score"], quad["evidence"]["pose"]["frames"]) == (61, 120)

    bundle = Bundle.model_validate(ok(export(core_api, org, format="fhir")))
    entries: list[Any] = list(bundle.entry or [])
    observations = [entry.resource for entry in entries if entry.resource.get_resource_type() == "Observation"]
    by_code: dict[str, Any] = {o.code.coding[0].code: o for o in observations if o.method is not None}
    assert sorted(by_code) == [
        "mean-form-score",
        "measured-repetitions",
        "measured-watch-percentage",
        "pose-accuracy",
        "repetitions",
        "video-watch-percentage",
    ]
    reported = [by_code[code] for code in ("video-watch-percentage", "repetitions", "pose-accuracy")]
    measured = [by_code[code] for code in ("measured-watch-percentage", "measured-repetitions", "mean-form-score")]
    assert {o.method.coding[0].code for o in reported} == {"app-reported"}
    assert all(o.device is None for o in reported)
    assert {o.method.coding[0].code for o in measured} == {"telemetry-measured"}
    assert [o.device.display for o in measured] == [
        "the app's video player (measured by telemetry)",
        "the app's pose tracker (measured by telemetry)",
        "the app's pose tracker (measured by telemetry)",
    ]
    assert [o.interpretation[0].coding[0].code for o in measured] == ["contradicted"] * 3
    values = [
        by_code["video-watch-percentage"].valueQuantity.value,
        by_code["measured-watch-percentage"].valueQuantity.value,
    ]
    assert [float(v) for v in values] == [90.0, 20.5]
    assert (by_code["repetitions"].valueInteger, by_code["measured-repetitions"].valueInteger) == (10, 4)
    assert float(by_code["mean-form-score"].valueQuantity.value) == 61.0

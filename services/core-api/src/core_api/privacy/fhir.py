"""The GDPR export as a FHIR R4 ``collection`` Bundle.

Mapping (docs/privacy.md):

- the patient → ``Patient`` (name, email, birth date);
- each enrollment → ``CarePlan`` (status from the lifecycle, period, title and sessions of the frozen plan
  version);
- each completed or started session → ``Observation``s: pain before and after (LOINC 72514-3, 0-10 numeric
  rating) and perceived difficulty (a local code), ``basedOn`` the CarePlan;
- each exercise log → ``Observation``s of what the app reported (video watched, repetitions, pose accuracy;
  method ``app-reported``) and, apart from them, of what telemetry measured (video watched, repetitions
  counted, mean form score; method ``telemetry-measured`` and the ``device`` that measured it: the app's
  video player or pose tracker), with the log's evidence state;
- each form instance → ``QuestionnaireResponse`` (answers by question type);
- each consent decision → ``Consent`` (permit or deny; only the newest of each kind is ``active``).

Resources are identified by ``urn:uuid`` full URLs derived from the row ids (stable across exports) and
reference each other by them.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

from contracts.privacy import FhirBundle, FhirBundleEntry, PatientExport

_NAMESPACE = uuid.UUID("7c4f2a8e-5d0b-4b8e-9a53-2f7d6f1c9e10")
LOINC = "http://loinc.org"
PAIN_SCORE = "72514-3"
LOCAL_CODES = "urn:telerehab:fhir:observation"
METHODS = "urn:telerehab:fhir:observation-method"
EVIDENCE_STATES = "urn:telerehab:fhir:evidence-state"
UCUM = "http://unitsofmeasure.org"
PLAYER = "the app's video player (measured by telemetry)"
POSE_TRACKER = "the app's pose tracker (measured by telemetry)"
REPORTED = {
    "coding": [{"system": METHODS, "code": "app-reported", "display": "Reported by the patient's app"}],
    "text": "Reported by the patient's app",
}
MEASURED = {
    "coding": [
        {
            "system": METHODS,
            "code": "telemetry-measured",
            "display": "Measured by the app's player or pose tracker, not reported",
        }
    ],
    "text": "Measured by the app's player or pose tracker (telemetry), not reported by the patient",
}
# Exercise-log figures: (column, local code, text, percent or count, device measuring it or None when reported).
LOG_FIGURES = (
    ("video_watch_percentage", "video-watch-percentage", "Share of the video watched, as reported", True, None),
    ("actual_reps", "repetitions", "Repetitions, as reported", False, None),
    ("pose_accuracy_score", "pose-accuracy", "Pose accuracy, as reported", True, None),
    ("measured_watch_percentage", "measured-watch-percentage", "Share of the video watched, as measured", True, PLAYER),
    ("measured_reps", "measured-repetitions", "Repetitions counted by the pose tracker", False, POSE_TRACKER),
    ("mean_form_score", "mean-form-score", "Mean form score, as measured", True, POSE_TRACKER),
)
CAREPLAN_STATUS = {
    "pending_approval": "draft",
    "active": "active",
    "paused": "on-hold",
    "completed": "completed",
    "cancelled": "revoked",
    "expired": "revoked",
}
Json = dict[str, Any]


def _urn(kind: str, identifier: object) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{identifier}')}"


def _ref(kind: str, identifier: object) -> Json:
    return {"reference": _urn(kind, identifier)}


def _patient(patient: Json) -> Json:
    resource: Json = {"resourceType": "Patient", "name": [{"text": patient["name"]}]}
    if patient.get("email"):
        resource["telecom"] = [{"system": "email", "value": patient["email"]}]
    if patient.get("date_of_birth"):
        resource["birthDate"] = patient["date_of_birth"]
    return resource


def _care_plan(enrollment: Json, patient_id: int) -> Json:
    plan = enrollment.get("plan") or {}
    sessions = plan.get("sessions") or []
    return {
        "resourceType": "CarePlan",
        "status": CAREPLAN_STATUS[enrollment["status"]],
        "intent": "plan",
        "title": plan.get("name") or "Treatment plan",
        "description": (
            f"{enrollment['frequency_per_week']} sessions a week, {enrollment['sessions_total']} in all "
            f"(version {enrollment['plan_version']}); {enrollment['sessions_completed']} completed."
        ),
        "subject": _ref("Patient", patient_id),
        "period": {"start": enrollment["start_date"], "end": enrollment["end_date"]},
        "created": enrollment["created_at"],
        "activity": [
            {"detail": {"status": "scheduled", "description": session.get("name") or f"Session {number}"}}
            for number, session in enumerate(sessions, start=1)
        ],
    }


def _observation(completion: Json, patient_id: int, code: Json, value: int, when: str) -> Json:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}
        ],
        "code": code,
        "subject": _ref("Patient", patient_id),
        "basedOn": [_ref("CarePlan", completion["patient_treatment_plan_id"])],
        "effectiveDateTime": when,
        "valueInteger": value,
    }


def _observations(completion: Json, patient_id: int) -> list[tuple[str, Json]]:
    pain = {"coding": [{"system": LOINC, "code": PAIN_SCORE, "display": "Pain severity 0-10 numeric rating"}]}
    found: list[tuple[str, Json]] = []
    if completion.get("pain_level_before") is not None:
        found.append(
            (
                "before",
                _observation(
                    completion,
                    patient_id,
                    {**pain, "text": "Pain before the session"},
                    completion["pain_level_before"],
                    completion["started_at"],
                ),
            )
        )
    ended = completion.get("completed_at") or completion.get("skipped_at") or completion["started_at"]
    if completion.get("pain_level_after") is not None:
        found.append(
            (
                "after",
                _observation(
                    completion,
                    patient_id,
                    {**pain, "text": "Pain after the session"},
                    completion["pain_level_after"],
                    ended,
                ),
            )
        )
    if completion.get("perceived_difficulty") is not None:
        difficulty = {
            "coding": [{"system": LOCAL_CODES, "code": "perceived-difficulty", "display": "Perceived difficulty 1-10"}],
            "text": "Perceived difficulty of the session",
        }
        found.append(
            ("difficulty", _observation(completion, patient_id, difficulty, completion["perceived_difficulty"], ended))
        )
    return found


def _log_observations(log: Json, completion: Json, patient_id: int) -> list[tuple[str, Json]]:
    """The figures of one exercise log: each reported one, and apart from them each measured one with the
    device that measured it and the log's evidence state."""
    when = log.get("completed_at") or completion.get("completed_at") or completion["started_at"]
    found: list[tuple[str, Json]] = []
    for column, code, text, percent, device in LOG_FIGURES:
        value = log.get(column)
        if value is None:
            continue
        resource: Json = {
            "resourceType": "Observation",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "activity"}
                    ]
                }
            ],
            "code": {
                "coding": [{"system": LOCAL_CODES, "code": code, "display": text}],
                "text": f"{text}: {log['exercise_name']}",
            },
            "subject": _ref("Patient", patient_id),
            "basedOn": [_ref("CarePlan", completion["patient_treatment_plan_id"])],
            "effectiveDateTime": when,
            "method": MEASURED if device else REPORTED,
        }
        if percent:
            resource["valueQuantity"] = {"value": value, "unit": "%", "system": UCUM, "code": "%"}
        else:
            resource["valueInteger"] = value
        if device:
            resource["device"] = {"display": device}
            if log.get("evidence_collected_at"):
                resource["issued"] = log["evidence_collected_at"]
            if log.get("evidence_state"):
                state = log["evidence_state"]
                resource["interpretation"] = [
                    {"coding": [{"system": EVIDENCE_STATES, "code": state}], "text": f"Evidence {state}"}
                ]
        found.append((code, resource))
    return found


def _answers(question: Json, value: Any) -> list[Json]:
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    if isinstance(value, int):
        return [{"valueInteger": value}]
    if isinstance(value, list):
        return [{"valueString": str(each)} for each in value]
    return [{"valueString": str(value)}]


def _questionnaire_response(form: Json, patient_id: int) -> Json:
    responses = form.get("responses") or {}
    questions = (form.get("template") or {}).get("questions") or []
    items = [
        {
            "linkId": question["id"],
            "text": question.get("prompt"),
            "answer": _answers(question, responses[question["id"]]),
        }
        for question in questions
        if question.get("id") in responses
    ]
    resource: Json = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"urn:telerehab:form-template:{form['form_template_id']}",
        "status": "completed" if form["status"] == "submitted" else "in-progress",
        "subject": _ref("Patient", patient_id),
        "authored": form.get("submitted_at") or form["created_at"],
    }
    if items:
        resource["item"] = items
    return resource


def _consent(record: Json, patient_id: int, newest: bool) -> Json:
    if record["kind"] == "analytics":
        what = f"Telemetry analytics at level {record['analytics_level']} (0 none, 1 errors, 2-3 analytics)"
    else:
        what = "Biometric data: camera pose tracking"
    return {
        "resourceType": "Consent",
        "status": "active" if newest else "inactive",
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": _ref("Patient", patient_id),
        "dateTime": record["created_at"],
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        "provision": {"type": "permit" if record["granted"] else "deny", "code": [{"text": what}]},
    }


def bundle(export: PatientExport) -> FhirBundle:
    """The export as a FHIR R4 collection Bundle."""
    patient_id = int(export.patient["id"])
    entries: list[FhirBundleEntry] = [FhirBundleEntry(_urn("Patient", patient_id), _patient(export.patient))]
    entries += [FhirBundleEntry(_urn("CarePlan", e["id"]), _care_plan(e, patient_id)) for e in export.enrollments]
    for completion in export.session_completions:
        for suffix, resource in _observations(completion, patient_id):
            entries.append(FhirBundleEntry(_urn("Observation", f"{completion['id']}/{suffix}"), resource))
    completions = {completion["id"]: completion for completion in export.session_completions}
    for log in export.exercise_logs:
        for code, resource in _log_observations(log, completions[log["session_completion_id"]], patient_id):
            entries.append(FhirBundleEntry(_urn("Observation", f"log/{log['id']}/{code}"), resource))
    entries += [
        FhirBundleEntry(_urn("QuestionnaireResponse", f["id"]), _questionnaire_response(f, patient_id))
        for f in export.form_instances
    ]
    newest = {}
    for record in export.consents:
        newest[record["kind"]] = record["id"]
    entries += [
        FhirBundleEntry(_urn("Consent", r["id"]), _consent(r, patient_id, newest[r["kind"]] == r["id"]))
        for r in export.consents
    ]
    return FhirBundle(type="collection", timestamp=export.exported_at.astimezone(UTC).isoformat(), entry=entries)

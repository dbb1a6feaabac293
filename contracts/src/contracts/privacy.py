"""GDPR: the export of everything stored about a patient, as the product's own JSON or as a FHIR R4
Bundle, and erasure (see docs/privacy.md).

Both export shapes are tagged by ``resourceType``, so a client tells them apart the way FHIR clients do.
"""

from enum import StrEnum
from typing import Any

import msgspec

from contracts.types import Timestamp


class ExportFormat(StrEnum):
    JSON = "json"
    FHIR = "fhir"


class PatientExport(msgspec.Struct, frozen=True, kw_only=True, tag_field="resourceType", tag="TelerehabPatientExport"):
    """Every row about the patient, section by section, as stored (organization ids left out)."""

    exported_at: Timestamp
    patient: dict[str, Any]
    service_plans: list[dict[str, Any]]
    enrollments: list[dict[str, Any]]
    """With the frozen plan version each was made under (``plan``)."""
    status_changes: list[dict[str, Any]]
    session_completions: list[dict[str, Any]]
    exercise_logs: list[dict[str, Any]]
    form_instances: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    audit_entries: list[dict[str, Any]]
    """Audit rows about the patient and their enrollments, sessions, exercise logs and forms."""


class FhirBundleEntry(msgspec.Struct, frozen=True):
    fullUrl: str  # FHIR spells it so
    resource: dict[str, Any]


class FhirBundle(msgspec.Struct, frozen=True, kw_only=True, tag_field="resourceType", tag="Bundle"):
    """A FHIR R4 ``collection`` Bundle: Patient, CarePlan per enrollment, Observation per pain and
    difficulty rating, QuestionnaireResponse per form, Consent per consent decision."""

    type: str
    timestamp: str
    entry: list[FhirBundleEntry]


PatientExportDocument = PatientExport | FhirBundle


class ErasureStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Where an erasure request stands: requested (the patient is gone from every list and report), then
    identity erased and telemetry deleted by the retention job after the grace period, and the clinical
    records deleted once their retention period has passed."""

    patient_id: int
    requested_at: Timestamp
    identity_erased_at: Timestamp | None
    telemetry_erased_at: Timestamp | None
    clinical_deleted_at: Timestamp | None

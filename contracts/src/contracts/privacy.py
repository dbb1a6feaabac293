"""GDPR: the export of everything stored about a patient, as the product's own JSON or as a FHIR R4
Bundle, and erasure (see docs/privacy.md).

Both export shapes are tagged by ``resourceType``, so a client tells them apart the way FHIR clients do.
"""

from enum import StrEnum
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from contracts.types import Timestamp


class ExportFormat(StrEnum):
    """The shape of a patient export.

    - ``json``: the product's own JSON (``TelerehabPatientExport``), every row as stored.
    - ``fhir``: a FHIR R4 ``collection`` Bundle.
    """

    JSON = "json"
    FHIR = "fhir"


class PatientExport(msgspec.Struct, frozen=True, kw_only=True, tag_field="resourceType", tag="TelerehabPatientExport"):
    """Every row about the patient, section by section, as stored (organization ids left out)."""

    exported_at: Annotated[Timestamp, Meta(description="When the export was made.")]
    patient: Annotated[dict[str, Any], Meta(description="The patient's row.")]
    service_plans: Annotated[list[dict[str, Any]], Meta(description="The service plans the patient holds or held.")]
    enrollments: Annotated[
        list[dict[str, Any]],
        Meta(description=("With the frozen plan version each was made under (``plan``).")),
    ]
    status_changes: Annotated[list[dict[str, Any]], Meta(description="Every status change of the enrollments.")]
    session_completions: Annotated[
        list[dict[str, Any]],
        Meta(description=("Every session started, completed or skipped.")),
    ]
    exercise_logs: Annotated[list[dict[str, Any]], Meta(description="Every exercise log.")]
    form_instances: Annotated[
        list[dict[str, Any]],
        Meta(description=("Every form the patient was asked to fill in, with the answers.")),
    ]
    consents: Annotated[list[dict[str, Any]], Meta(description="Every consent record.")]
    audit_entries: Annotated[
        list[dict[str, Any]],
        Meta(description=("Audit rows about the patient and their enrollments, sessions, exercise logs and forms.")),
    ]


class FhirBundleEntry(msgspec.Struct, frozen=True):
    """One resource of a FHIR Bundle."""

    fullUrl: Annotated[str, Meta(description="The resource's URI within the bundle.")]  # FHIR spells it so
    resource: Annotated[dict[str, Any], Meta(description="A FHIR R4 resource.")]


class FhirBundle(msgspec.Struct, frozen=True, kw_only=True, tag_field="resourceType", tag="Bundle"):
    """A FHIR R4 ``collection`` Bundle: Patient, CarePlan per enrollment, Observation per pain and
    difficulty rating, QuestionnaireResponse per form, Consent per consent decision."""

    type: Annotated[str, Meta(description="Always `collection`.")]
    timestamp: Annotated[str, Meta(description="When the bundle was made (FHIR instant).")]
    entry: Annotated[list[FhirBundleEntry], Meta(description="The resources.")]


PatientExportDocument = PatientExport | FhirBundle


class ErasureStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Where an erasure request stands: requested (the patient is gone from every list and report), then
    identity erased and telemetry deleted by the retention job after the grace period, and the clinical
    records deleted once their retention period has passed."""

    patient_id: Annotated[int, Meta(description="The patient.")]
    requested_at: Annotated[
        Timestamp,
        Meta(description=("When erasure was requested; from then the patient is gone from every list and report.")),
    ]
    identity_erased_at: Annotated[
        Timestamp | None,
        Meta(description=("When the patient's identity was erased, after the erasure grace period; null until then.")),
    ]
    telemetry_erased_at: Annotated[
        Timestamp | None,
        Meta(description=("When the patient's telemetry was deleted; null until then.")),
    ]
    clinical_deleted_at: Annotated[
        Timestamp | None,
        Meta(description=("When the clinical records were deleted, after their retention period; null until then.")),
    ]

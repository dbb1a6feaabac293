-- GDPR export: everything stored about one patient, as one JSON document, in one statement. Row-level
-- security applies: the patient sees only their own rows, an admin their organization's. An enrollment's
-- status is its status now (enrollment_status_now), as every other read shows it.

-- name: export_patient
WITH patient AS (
    SELECT * FROM patients WHERE id = %(patient_id)s AND deleted_at IS NULL
), enrollments AS (
    SELECT x.* FROM patient_treatment_plans x JOIN patient ON patient.id = x.patient_id
), completions AS (
    SELECT x.* FROM patient_session_completions x JOIN patient ON patient.id = x.patient_id
), logs AS (
    SELECT x.*, e.name AS exercise_name
    FROM patient_exercise_logs x
    JOIN patient ON patient.id = x.patient_id
    JOIN exercises e ON e.id = x.exercise_id
), forms AS (
    SELECT x.*, t.title, t.kind, t.schema AS template
    FROM form_instances x
    JOIN patient ON patient.id = x.patient_id
    JOIN form_templates t ON t.id = x.form_template_id
)
SELECT json_build_object(
    'patient', (SELECT to_jsonb(p) - 'organization_id' FROM patient p),
    'service_plans', (
        SELECT coalesce(jsonb_agg((to_jsonb(x) - 'organization_id') || jsonb_build_object('service_plan_name', s.name)
                                  ORDER BY x.id), '[]')
        FROM patient_service_plans x JOIN patient ON patient.id = x.patient_id
        JOIN service_plans s ON s.id = x.service_plan_id),
    'enrollments', (
        SELECT coalesce(jsonb_agg((to_jsonb(x) - 'organization_id')
                                  || jsonb_build_object('plan_version', v.version, 'plan', v.snapshot,
                                                        'status', enrollment_status_now(x.status, x.end_date, p.time_zone))
                                  ORDER BY x.id), '[]')
        FROM enrollments x
        JOIN patient p ON p.id = x.patient_id
        JOIN treatment_plan_versions v ON v.id = x.treatment_plan_version_id),
    'status_changes', (
        SELECT coalesce(jsonb_agg(to_jsonb(x) - 'organization_id' ORDER BY x.id), '[]')
        FROM patient_treatment_plan_status_changes x JOIN patient ON patient.id = x.patient_id),
    'session_completions', (
        SELECT coalesce(jsonb_agg(to_jsonb(x) - 'organization_id' ORDER BY x.id), '[]') FROM completions x),
    'exercise_logs', (SELECT coalesce(jsonb_agg(to_jsonb(x) - 'organization_id' ORDER BY x.id), '[]') FROM logs x),
    'form_instances', (SELECT coalesce(jsonb_agg(to_jsonb(x) - 'organization_id' ORDER BY x.id), '[]') FROM forms x),
    'consents', (
        SELECT coalesce(jsonb_agg(to_jsonb(x) - 'organization_id' ORDER BY x.id), '[]')
        FROM patient_consents x JOIN patient ON patient.id = x.patient_id),
    'audit_entries', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', a.id, 'action', a.action, 'entity_type', a.entity_type, 'entity_id', a.entity_id,
                   'actor_user_id', a.actor_user_id, 'actor_role', a.actor_role, 'before', a.before,
                   'after', a.after, 'created_at', a.created_at) ORDER BY a.id), '[]')
        FROM audit_log a
        WHERE (a.entity_type = 'patient' AND a.entity_id = (SELECT id::text FROM patient))
           OR (a.entity_type = 'patient_treatment_plan' AND a.entity_id IN (SELECT id::text FROM enrollments))
           OR (a.entity_type = 'patient_session_completion' AND a.entity_id IN (SELECT id::text FROM completions))
           OR (a.entity_type = 'patient_exercise_log' AND a.entity_id IN (SELECT id::text FROM logs))
           OR (a.entity_type = 'form_instance' AND a.entity_id IN (SELECT id::text FROM forms)))
)::text
WHERE EXISTS (SELECT 1 FROM patient)

-- Erasure -------------------------------------------------------------------------------------------------

-- name: cancel_open_enrollments
-- Every enrollment still open ends: cancelled, with its status history row.
WITH open AS (
    SELECT id, organization_id, patient_id, status
    FROM patient_treatment_plans
    WHERE patient_id = %(patient_id)s AND status IN ('pending_approval', 'active', 'paused')
    FOR UPDATE
), cancelled AS (
    UPDATE patient_treatment_plans t SET status = 'cancelled', updated_at = now()
    FROM open WHERE t.id = open.id
    RETURNING t.id
)
INSERT INTO patient_treatment_plan_status_changes (
    organization_id, patient_id, patient_treatment_plan_id, from_status, to_status, reason,
    changed_by_user_id, changed_by_role)
SELECT organization_id, patient_id, id, status, 'cancelled', 'erasure requested', %(user_id)s, %(role)s
FROM open
WHERE id IN (SELECT id FROM cancelled)
RETURNING patient_treatment_plan_id

-- name: delete_evidence_collections
-- Nothing more is collected from telemetry for the patient (consent is gone too).
DELETE FROM evidence_collections WHERE patient_id = %(patient_id)s

-- name: soft_delete_patient
UPDATE patients SET deleted_at = now() WHERE id = %(patient_id)s AND deleted_at IS NULL

-- name: insert_erasure
INSERT INTO patient_erasures (patient_id, organization_id, requested_by_user_id, requested_by_role)
VALUES (%(patient_id)s, app_organization_id(), %(user_id)s, %(role)s)
RETURNING patient_id, requested_at, identity_erased_at, telemetry_erased_at, clinical_deleted_at

-- name: get_erasure
SELECT patient_id, requested_at, identity_erased_at, telemetry_erased_at, clinical_deleted_at
FROM patient_erasures
WHERE patient_id = %(patient_id)s

-- The retention job's statements; each runs with one organization's tenant set, role system.

-- name: due_erasures
SELECT patient_id FROM patient_erasures
WHERE identity_erased_at IS NULL AND requested_at <= now() - make_interval(days => %(grace_days)s)
ORDER BY patient_id

-- name: erase_audit_payloads
-- Audit rows about the patient (and their user's creation) lose before/after, the one change the
-- append-only trigger allows: the chain still verifies through each row's payload digest (docs/audit.md).
SELECT audit_log_erase_payloads(%(patient_id)s)

-- name: erase_user
UPDATE users SET display_name = 'Erased user', email = NULL, deleted_at = coalesce(deleted_at, now())
WHERE id = (SELECT user_id FROM patients WHERE id = %(patient_id)s)

-- name: erase_patient
UPDATE patients SET name = 'Erased patient', email = NULL, date_of_birth = NULL, user_id = NULL
WHERE id = %(patient_id)s

-- name: erase_completion_text
UPDATE patient_session_completions SET notes = NULL, skip_reason = NULL
WHERE patient_id = %(patient_id)s AND (notes IS NOT NULL OR skip_reason IS NOT NULL)

-- name: erase_log_text
UPDATE patient_exercise_logs SET notes = NULL, skip_reason = NULL
WHERE patient_id = %(patient_id)s AND (notes IS NOT NULL OR skip_reason IS NOT NULL)

-- name: erase_log_evidence
-- Telemetry's whole answer per exercise log (evidence) names the patient's keyed hash and holds biometric
-- detail (range of motion, visibility): it goes, and each log gets a telemetry session id nobody used, so
-- nothing links the logs to telemetry rows any more. The measured figures stay, like the reported ones.
UPDATE patient_exercise_logs SET evidence = NULL, telemetry_session_id = gen_random_uuid()
WHERE patient_id = %(patient_id)s

-- name: delete_evidence_collections
-- Collections still queued for the patient (the erasure request deleted those it saw).
DELETE FROM evidence_collections WHERE patient_id = %(patient_id)s

-- name: erase_status_reasons
UPDATE patient_treatment_plan_status_changes SET reason = 'redacted'
WHERE patient_id = %(patient_id)s AND reason <> 'redacted'

-- name: erase_consent_reasons
UPDATE patient_consents SET reason = NULL WHERE patient_id = %(patient_id)s AND reason IS NOT NULL

-- name: erase_text_answers
-- Free-text answers may name anyone; scale, choice and yes/no answers stay as clinical record.
UPDATE form_instances fi
SET responses = fi.responses - ARRAY(
        SELECT q ->> 'id' FROM form_templates ft, jsonb_array_elements(ft.schema -> 'questions') q
        WHERE ft.id = fi.form_template_id AND q ->> 'type' = 'text')
WHERE fi.patient_id = %(patient_id)s AND fi.responses IS NOT NULL

-- name: mark_identity_erased
UPDATE patient_erasures SET identity_erased_at = now() WHERE patient_id = %(patient_id)s

-- name: telemetry_pending
-- Only once every telemetry token issued before the request has expired (settle_seconds: the longest
-- token lifetime plus a margin), so rows a pre-erasure token can still send are deleted too.
SELECT patient_id FROM patient_erasures
WHERE identity_erased_at IS NOT NULL AND telemetry_erased_at IS NULL
  AND requested_at <= now() - make_interval(secs => %(settle_seconds)s)
ORDER BY patient_id

-- name: mark_telemetry_erased
UPDATE patient_erasures SET telemetry_erased_at = now() WHERE patient_id = %(patient_id)s

-- name: expired_enrollments
-- Finished enrollments whose last change is older than the clinical retention period.
SELECT id FROM patient_treatment_plans
WHERE status IN ('completed', 'cancelled', 'expired')
  AND updated_at < now() - make_interval(years => %(years)s)
ORDER BY id
LIMIT 1000

-- name: purge_enrollments
-- Everything recorded under the enrollments, then the enrollments; returns the rows deleted per table.
WITH completions AS (
    SELECT id FROM patient_session_completions WHERE patient_treatment_plan_id = ANY(%(ids)s)
), forms AS (
    SELECT id FROM form_instances WHERE session_completion_id IN (SELECT id FROM completions)
), unlinked_consents AS (
    UPDATE patient_consents SET form_instance_id = NULL WHERE form_instance_id IN (SELECT id FROM forms)
    RETURNING id
), logs AS (
    DELETE FROM patient_exercise_logs WHERE session_completion_id IN (SELECT id FROM completions) RETURNING id
), collections AS (
    DELETE FROM evidence_collections WHERE session_completion_id IN (SELECT id FROM completions) RETURNING 1
), reports AS (
    DELETE FROM weekly_adherence_reports WHERE patient_treatment_plan_id = ANY(%(ids)s) RETURNING 1
), alerts AS (
    DELETE FROM adherence_alerts WHERE patient_treatment_plan_id = ANY(%(ids)s) RETURNING 1
), changes AS (
    DELETE FROM patient_treatment_plan_status_changes WHERE patient_treatment_plan_id = ANY(%(ids)s) RETURNING 1
)
SELECT (SELECT count(*) FROM logs) AS exercise_logs,
       (SELECT count(*) FROM collections) AS evidence_collections,
       (SELECT count(*) FROM reports) AS weekly_reports,
       (SELECT count(*) FROM alerts) AS alerts,
       (SELECT count(*) FROM changes) AS status_changes,
       (SELECT count(*) FROM unlinked_consents) AS unlinked_consents,
       (SELECT count(*) FROM forms) AS form_instances,
       (SELECT count(*) FROM completions) AS session_completions

-- name: purge_completions
-- Completions and their forms reference each other: unlink, then delete both.
WITH completions AS (
    UPDATE patient_session_completions SET post_session_form_id = NULL
    WHERE patient_treatment_plan_id = ANY(%(ids)s)
    RETURNING id
)
DELETE FROM form_instances WHERE session_completion_id IN (SELECT id FROM completions)

-- name: delete_completions
DELETE FROM patient_session_completions WHERE patient_treatment_plan_id = ANY(%(ids)s)

-- name: delete_enrollments
DELETE FROM patient_treatment_plans WHERE id = ANY(%(ids)s)

-- name: clinical_done
-- Erased patients with no enrollment left: their remaining records (consents, service plans, forms) go,
-- the pseudonymized patient row and the erasure row stay as the record that erasure was done.
SELECT e.patient_id FROM patient_erasures e
WHERE e.identity_erased_at IS NOT NULL AND e.clinical_deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM patient_treatment_plans t WHERE t.patient_id = e.patient_id)

-- name: purge_patient_rest
WITH consents AS (DELETE FROM patient_consents WHERE patient_id = %(patient_id)s RETURNING 1),
     forms AS (DELETE FROM form_instances WHERE patient_id = %(patient_id)s RETURNING 1),
     plans AS (DELETE FROM patient_service_plans WHERE patient_id = %(patient_id)s RETURNING 1)
UPDATE patient_erasures SET clinical_deleted_at = now() WHERE patient_id = %(patient_id)s

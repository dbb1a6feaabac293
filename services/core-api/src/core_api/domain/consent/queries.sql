-- Consent records of one patient (row-level security: the organization's staff, or the patient).

-- name: patient_visible
SELECT EXISTS (SELECT 1 FROM patients WHERE id = %(patient_id)s AND deleted_at IS NULL)

-- name: current_consent
-- No record: level 0 and no biometric consent (collection is opt-in).
SELECT coalesce((SELECT analytics_level FROM patient_consents
                 WHERE patient_id = %(patient_id)s AND kind = 'analytics' ORDER BY id DESC LIMIT 1), 0)
           AS analytics_level,
       coalesce((SELECT granted FROM patient_consents
                 WHERE patient_id = %(patient_id)s AND kind = 'biometric' ORDER BY id DESC LIMIT 1), false)
           AS biometric

-- name: consent_history
SELECT id, kind, analytics_level, granted, form_instance_id, reason, recorded_by_user_id, recorded_by_role,
       created_at
FROM patient_consents
WHERE patient_id = %(patient_id)s
ORDER BY id DESC
LIMIT 200

-- name: insert_consent
INSERT INTO patient_consents (
    organization_id, patient_id, kind, analytics_level, granted, form_instance_id, reason,
    recorded_by_user_id, recorded_by_role)
VALUES (app_organization_id(), %(patient_id)s, %(kind)s, %(analytics_level)s, %(granted)s,
        %(form_instance_id)s, %(reason)s, %(user_id)s, %(role)s)

-- name: consent_evidence
-- A submitted consent form of the patient: what staff record a decision with.
SELECT EXISTS (
    SELECT 1 FROM form_instances fi JOIN form_templates ft ON ft.id = fi.form_template_id
    WHERE fi.id = %(form_instance_id)s AND fi.patient_id = %(patient_id)s
      AND fi.status = 'submitted' AND ft.kind = 'consent')

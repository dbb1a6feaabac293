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
       created_at, source
FROM patient_consents
WHERE patient_id = %(patient_id)s
ORDER BY id DESC
LIMIT 200

-- name: insert_consent
INSERT INTO patient_consents (
    organization_id, patient_id, kind, analytics_level, granted, form_instance_id, reason,
    recorded_by_user_id, recorded_by_role, source)
VALUES (app_organization_id(), %(patient_id)s, %(kind)s, %(analytics_level)s, %(granted)s,
        %(form_instance_id)s, %(reason)s, %(user_id)s, %(role)s, %(source)s)

-- name: lock_patient_consent
-- Held to commit by every writer of the patient's consent, so a check and the row it allows cannot be
-- overtaken by another change (row ids, and so "newest", follow the order the writers ran in).
SELECT pg_advisory_xact_lock(hashtextextended('patient_consents:' || %(patient_id)s::text, 0))

-- name: consent_form_responses
-- The answers of a submitted consent form of the patient; no row when it is not one.
SELECT fi.responses
FROM form_instances fi JOIN form_templates ft ON ft.id = fi.form_template_id
WHERE fi.id = %(form_instance_id)s AND fi.patient_id = %(patient_id)s
  AND fi.status = 'submitted' AND ft.kind = 'consent'

-- name: form_statement
-- Whether the form's answers were recorded as the patient's own statement (submitted by the patient, or
-- entered from their signed paper form), and whether that is still the patient's latest own statement.
SELECT EXISTS (SELECT 1 FROM patient_consents
               WHERE patient_id = %(patient_id)s AND form_instance_id = %(form_instance_id)s
                 AND source IN ('consent_form', 'paper_form')) AS stated,
       coalesce((SELECT form_instance_id = %(form_instance_id)s AND source IN ('consent_form', 'paper_form')
                 FROM patient_consents
                 WHERE patient_id = %(patient_id)s AND source IN ('patient', 'consent_form', 'paper_form')
                 ORDER BY id DESC LIMIT 1), false) AS latest

-- name: stated_in_app
-- Whether the patient has ever stated a consent decision themself, in the app.
SELECT EXISTS (SELECT 1 FROM patient_consents
               WHERE patient_id = %(patient_id)s AND source IN ('patient', 'consent_form'))

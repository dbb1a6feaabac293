-- Adherence reports: what the engine needs (enrollments, status history, session completions) in one
-- query each, whatever the number of enrollments, and the weekly history rows. Row-level security limits
-- every read to the caller's organization, and a patient to their own rows.

-- name: enrollments
-- Enrollments with their schedule, patient zone, plan and the organization's threshold: one by id, or
-- the active ones, optionally only those a specialist assigned and those whose patient name contains q.
SELECT ptp.id, ptp.patient_id, pa.name AS patient_name, pa.time_zone,
       ptp.treatment_plan_id, v.name AS plan_name, v.type AS plan_type,
       ptp.assigned_by_specialist_id, ptp.start_date, ptp.end_date, ptp.frequency_per_week,
       ptp.sessions_total, ptp.status, ptp.created_at,
       o.adherence_threshold_percent AS threshold_percent
FROM patient_treatment_plans ptp
JOIN patients pa ON pa.id = ptp.patient_id
JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
JOIN organizations o ON o.id = ptp.organization_id
WHERE (%(id)s::bigint IS NULL OR ptp.id = %(id)s)
  AND (NOT %(active_only)s::boolean OR ptp.status = 'active')
  AND (%(specialist_id)s::bigint IS NULL OR ptp.assigned_by_specialist_id = %(specialist_id)s)
  AND (%(q)s::text IS NULL OR position(lower(%(q)s) IN lower(pa.name)) > 0)
ORDER BY ptp.id

-- name: status_changes
-- The status history of the given enrollments, oldest first.
SELECT patient_treatment_plan_id, from_status, to_status, created_at
FROM patient_treatment_plan_status_changes
WHERE patient_treatment_plan_id = ANY(%(ids)s::bigint[])
ORDER BY patient_treatment_plan_id, created_at, id

-- name: completions
-- The sessions started under the given enrollments; a skip ends a session at skipped_at.
SELECT id, patient_treatment_plan_id, status, started_at, coalesce(completed_at, skipped_at) AS ended_at
FROM patient_session_completions
WHERE patient_treatment_plan_id = ANY(%(ids)s::bigint[])
ORDER BY patient_treatment_plan_id, started_at, id

-- name: specialist_of_user
SELECT id FROM specialists WHERE user_id = %(user_id)s AND deleted_at IS NULL

-- name: organization_threshold
SELECT adherence_threshold_percent, time_zone FROM organizations WHERE id = app_organization_id()

-- name: upsert_weekly_report
-- Insert the week's row, or refresh it while it is not final (computed before the week closed).
INSERT INTO weekly_adherence_reports (
    organization_id, patient_id, patient_treatment_plan_id, week_start, week_number, closes_at,
    adherence_percent, noncompliance_percent, report, computed_at)
SELECT ptp.organization_id, ptp.patient_id, ptp.id, %(week_start)s, %(week_number)s, %(closes_at)s,
       %(adherence_percent)s, %(noncompliance_percent)s, %(report)s::jsonb, %(computed_at)s
FROM patient_treatment_plans ptp
WHERE ptp.id = %(id)s
ON CONFLICT (patient_treatment_plan_id, week_start) DO UPDATE
SET adherence_percent = excluded.adherence_percent,
    noncompliance_percent = excluded.noncompliance_percent,
    report = excluded.report,
    computed_at = excluded.computed_at
WHERE weekly_adherence_reports.computed_at < weekly_adherence_reports.closes_at
  AND excluded.computed_at > weekly_adherence_reports.computed_at

-- name: trend
-- An enrollment's stored weekly series, by week; one row with null weeks when nothing is stored yet, and
-- no row at all when the enrollment does not exist or is not the caller's to see.
SELECT ptp.id AS patient_treatment_plan_id, w.week_start, w.week_number, w.adherence_percent,
       w.noncompliance_percent, w.computed_at >= w.closes_at AS final, w.computed_at
FROM patient_treatment_plans ptp
LEFT JOIN weekly_adherence_reports w ON w.patient_treatment_plan_id = ptp.id
WHERE ptp.id = %(id)s
ORDER BY w.week_start

-- name: insert_alert
-- Record an alert unless the enrollment already has one of this kind for the week; returns a row only
-- when it was inserted (the caller then writes the outbox event).
INSERT INTO adherence_alerts (organization_id, patient_id, patient_treatment_plan_id, kind, week_start, evidence)
SELECT ptp.organization_id, ptp.patient_id, ptp.id, %(kind)s, %(week_start)s, %(evidence)s::jsonb
FROM patient_treatment_plans ptp
WHERE ptp.id = %(id)s
ON CONFLICT (patient_treatment_plan_id, kind, week_start) DO NOTHING
RETURNING id, organization_id, patient_treatment_plan_id, kind, week_start, evidence

-- name: completion_pain
-- A completed session's pain after it, its plan's start and the patient's zone, and the enrollment's
-- previous completed session that recorded a pain level after it.
SELECT c.id, c.patient_treatment_plan_id, c.pain_level_after, c.started_at, ptp.start_date, pa.time_zone,
       prev.id AS previous_id, prev.pain_level_after AS previous_pain_level_after
FROM patient_session_completions c
JOIN patient_treatment_plans ptp ON ptp.id = c.patient_treatment_plan_id
JOIN patients pa ON pa.id = c.patient_id
LEFT JOIN LATERAL (
    SELECT p.id, p.pain_level_after
    FROM patient_session_completions p
    WHERE p.patient_treatment_plan_id = c.patient_treatment_plan_id
      AND p.status = 'completed' AND p.pain_level_after IS NOT NULL AND p.id <> c.id
      AND (p.completed_at, p.id) < (c.completed_at, c.id)
    ORDER BY p.completed_at DESC, p.id DESC
    LIMIT 1
) prev ON true
WHERE c.id = %(id)s AND c.status = 'completed'

-- name: lock_organization_settings
SELECT adherence_threshold_percent FROM organizations WHERE id = app_organization_id() FOR UPDATE

-- name: update_organization_threshold
UPDATE organizations SET adherence_threshold_percent = %(percent)s WHERE id = app_organization_id()

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

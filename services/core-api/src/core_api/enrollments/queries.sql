-- Enrollments (patient_treatment_plans). Patients see only their own rows through row-level security.
-- "Today" is always the patient's calendar day, in their IANA time zone. Every status read goes through
-- enrollment_status_now() (migration 0015): an overdue active or paused enrollment reads as expired
-- before its expiry is recorded.

-- name: enrollments_json
-- Enrollments as the API lists them, filtered, sorted, one page, each with the filter's total.
-- Also the single-enrollment read (filter by id). {order} is composed by the repository from a whitelist.
SELECT count(*) OVER () AS total,
    json_build_object(
        'id', ptp.id,
        'patient', json_build_object('id', pa.id, 'name', pa.name),
        'treatment_plan', json_build_object('id', tp.id, 'name', v.name, 'type', v.type),
        'treatment_plan_version', ptp.treatment_plan_version,
        'assigned_by_specialist',
            CASE WHEN sp.id IS NULL THEN NULL ELSE json_build_object('id', sp.id, 'name', sp.name) END,
        'self_assigned', ptp.self_assigned,
        'start_date', ptp.start_date,
        'end_date', ptp.end_date,
        'frequency_per_week', ptp.frequency_per_week,
        'sessions_total', ptp.sessions_total,
        'sessions_completed', ptp.sessions_completed,
        'sessions_skipped', ptp.sessions_skipped,
        'completion_percentage', round(100.0 * ptp.sessions_completed / ptp.sessions_total, 2),
        'status', enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone),
        'approved_at', ptp.approved_at,
        'created_at', ptp.created_at
    )::text AS enrollment
FROM patient_treatment_plans ptp
JOIN patients pa ON pa.id = ptp.patient_id
JOIN treatment_plans tp ON tp.id = ptp.treatment_plan_id
JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
LEFT JOIN specialists sp ON sp.id = ptp.assigned_by_specialist_id
WHERE (%(id)s::bigint IS NULL OR ptp.id = %(id)s)
  AND (%(patient_id)s::bigint IS NULL OR ptp.patient_id = %(patient_id)s)
  AND (%(treatment_plan_id)s::uuid IS NULL OR ptp.treatment_plan_id = %(treatment_plan_id)s)
  AND (%(status)s::text IS NULL OR enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) = %(status)s)
  AND (%(type)s::text IS NULL OR v.type = %(type)s)
ORDER BY {order}
LIMIT %(limit)s OFFSET %(offset)s

-- name: enrollment_detail_extras
-- What the detail adds to the list item: the frozen version (from its snapshot), progress, and the
-- status history.
SELECT json_build_object(
    'plan_version', json_build_object(
        'version', v.version,
        'name', v.name,
        'type', v.type,
        'frequency_per_week', v.frequency_per_week,
        'duration_weeks', v.duration_weeks,
        'sessions_count', v.sessions_count,
        'published_at', v.created_at,
        'sessions', coalesce((
            SELECT json_agg(json_build_object(
                'session_number', (s.value ->> 'session_number')::int,
                'name', s.value ->> 'name',
                'estimated_duration_minutes', (s.value ->> 'estimated_duration_minutes')::int,
                'exercises_count', jsonb_array_length(coalesce(s.value -> 'exercises', '[]'::jsonb))
            ) ORDER BY (s.value ->> 'session_number')::int)
            FROM jsonb_array_elements(v.snapshot -> 'sessions') AS s(value)
        ), '[]'::json)
    ),
    'progress', json_build_object(
        'sessions_total', ptp.sessions_total,
        'sessions_completed', ptp.sessions_completed,
        'sessions_skipped', ptp.sessions_skipped,
        'sessions_remaining', greatest(ptp.sessions_total - ptp.sessions_completed - ptp.sessions_skipped, 0),
        'completion_percentage', round(100.0 * ptp.sessions_completed / ptp.sessions_total, 2),
        'current_week', CASE
            WHEN today.day < ptp.start_date THEN 0
            ELSE least((today.day - ptp.start_date) / 7 + 1, v.duration_weeks) END,
        'total_weeks', v.duration_weeks
    ),
    'status_history', coalesce((
        SELECT json_agg(json_build_object(
            'from_status', c.from_status,
            'to_status', c.to_status,
            'reason', c.reason,
            'changed_by_user_id', c.changed_by_user_id,
            'changed_by_role', c.changed_by_role,
            'changed_at', c.created_at
        ) ORDER BY c.id)
        FROM patient_treatment_plan_status_changes c
        WHERE c.patient_treatment_plan_id = ptp.id
    ), '[]'::json)
)::text
FROM patient_treatment_plans ptp
JOIN patients pa ON pa.id = ptp.patient_id
JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE pa.time_zone)::date AS day) AS today
WHERE ptp.id = %(id)s

-- name: session_history
-- The sessions started under the enrollment, from session execution's completions table.
SELECT id, session_number, status, started_at, completed_at, skipped_at, duration_seconds
FROM patient_session_completions
WHERE patient_treatment_plan_id = %(id)s
ORDER BY started_at, id

-- name: lock_enrollment
-- Every status change starts here, so two concurrent changes of one enrollment run one after the other.
SELECT id, organization_id, patient_id, status
FROM patient_treatment_plans
WHERE id = %(id)s
FOR UPDATE

-- name: set_status
UPDATE patient_treatment_plans
SET status = %(status)s, updated_at = now()
WHERE id = %(id)s

-- name: approve
UPDATE patient_treatment_plans
SET status = 'active', approved_at = now(), approved_by_user_id = %(user_id)s, updated_at = now()
WHERE id = %(id)s

-- name: insert_status_change
INSERT INTO patient_treatment_plan_status_changes (
    organization_id, patient_id, patient_treatment_plan_id, from_status, to_status, reason,
    changed_by_user_id, changed_by_role)
VALUES (%(organization_id)s, %(patient_id)s, %(id)s, %(from_status)s, %(to_status)s, %(reason)s,
        %(user_id)s, %(role)s)

-- name: expire_overdue
-- Record the expiry of every visible enrollment that reads as expired but is stored active or paused (its
-- end_date is before the patient's today), with a history row, an audit row and the
-- treatment_plan.expired outbox event each, in one statement. The rows are locked first, so a concurrent
-- status change either finishes before (and its status is what the history records) or waits; a
-- concurrent expiry waits, then finds the row expired already and skips it: each expiry is recorded once.
WITH overdue AS (
    SELECT ptp.id, ptp.organization_id, ptp.patient_id, ptp.status AS from_status, ptp.end_date
    FROM patient_treatment_plans ptp
    JOIN patients pa ON pa.id = ptp.patient_id
    WHERE ptp.status IN ('active', 'paused')
      AND enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) = 'expired'
      AND (%(id)s::bigint IS NULL OR ptp.id = %(id)s)
      AND (%(patient_id)s::bigint IS NULL OR ptp.patient_id = %(patient_id)s)
    FOR UPDATE OF ptp
), expired AS (
    UPDATE patient_treatment_plans ptp
    SET status = 'expired', updated_at = now()
    FROM overdue o
    WHERE ptp.id = o.id
    RETURNING ptp.id, ptp.organization_id, ptp.patient_id, o.from_status, o.end_date
), history AS (
    INSERT INTO patient_treatment_plan_status_changes (
        organization_id, patient_id, patient_treatment_plan_id, from_status, to_status, reason,
        changed_by_user_id, changed_by_role)
    SELECT organization_id, patient_id, id, from_status, 'expired', 'end_date passed', NULL, 'system'
    FROM expired
), audited AS (
    INSERT INTO audit_log (organization_id, actor_user_id, actor_role, action, entity_type, entity_id, before, after)
    SELECT organization_id, NULL, 'system', 'patient_treatment_plan.expired', 'patient_treatment_plan', id::text,
           jsonb_build_object('status', from_status),
           jsonb_build_object('status', 'expired', 'reason', 'end_date passed')
    FROM expired
), fired AS (
    INSERT INTO automation_events (organization_id, event_type, entity_type, entity_id, payload)
    SELECT organization_id, 'treatment_plan.expired', 'patient_treatment_plan', id::text,
           jsonb_build_object('patient_treatment_plan_id', id, 'from_status', from_status, 'end_date', end_date)
    FROM expired
)
SELECT count(*) FROM expired

-- name: assignment_references
-- For an assignment: whether each referenced row exists in the caller's organization (one column per
-- request field, true when usable).
SELECT
    EXISTS (SELECT 1 FROM patients WHERE id = %(patient_id)s AND deleted_at IS NULL) AS patient_id,
    (%(assigned_by_specialist_id)s::bigint IS NULL OR EXISTS (
        SELECT 1 FROM specialists WHERE id = %(assigned_by_specialist_id)s AND deleted_at IS NULL
    )) AS assigned_by_specialist_id,
    (%(patient_service_plan_id)s::bigint IS NULL OR EXISTS (
        SELECT 1 FROM patient_service_plans
        WHERE id = %(patient_service_plan_id)s AND patient_id = %(patient_id)s
    )) AS patient_service_plan_id,
    EXISTS (
        SELECT 1 FROM treatment_plans
        WHERE id = %(treatment_plan_id)s AND deleted_at IS NULL
          AND (created_for_patient_id IS NULL OR created_for_patient_id = %(patient_id)s)
    ) AS treatment_plan_id

-- name: assignment_window
-- The patient's today, and whether an enrollment ending on %(end_date)s would read as expired already.
SELECT (now() AT TIME ZONE time_zone)::date AS today,
       enrollment_status_now('active', %(end_date)s, time_zone) = 'expired' AS over
FROM patients
WHERE id = %(patient_id)s

-- name: patient_visible
SELECT EXISTS (SELECT 1 FROM patients WHERE id = %(id)s AND deleted_at IS NULL)

-- name: plan_for_assignment
SELECT type, requires_approval FROM treatment_plans WHERE id = %(id)s AND deleted_at IS NULL

-- name: active_telerehab_service_plan
-- The patient's service plan active today that grants telerehab access (the given one when named).
SELECT psp.id
FROM patient_service_plans psp
JOIN service_plans sp ON sp.id = psp.service_plan_id
JOIN patients pa ON pa.id = psp.patient_id
WHERE psp.patient_id = %(patient_id)s
  AND (%(patient_service_plan_id)s::bigint IS NULL OR psp.id = %(patient_service_plan_id)s)
  AND psp.cancelled_at IS NULL
  AND sp.telerehab_access
  AND psp.starts_on <= (now() AT TIME ZONE pa.time_zone)::date
  AND (psp.ends_on IS NULL OR psp.ends_on >= (now() AT TIME ZONE pa.time_zone)::date)
ORDER BY psp.starts_on DESC, psp.id DESC
LIMIT 1

-- name: insert_enrollment
INSERT INTO patient_treatment_plans (
    organization_id, patient_id, treatment_plan_id, treatment_plan_version_id, treatment_plan_version,
    patient_service_plan_id, assigned_by_specialist_id, self_assigned, start_date, end_date,
    frequency_per_week, sessions_total, status)
VALUES (
    %(organization_id)s, %(patient_id)s, %(plan_id)s, %(version_id)s, %(version)s, %(patient_service_plan_id)s,
    %(assigned_by_specialist_id)s, %(self_assigned)s, %(start_date)s, %(end_date)s, %(frequency_per_week)s,
    %(sessions_total)s, %(status)s)
RETURNING id

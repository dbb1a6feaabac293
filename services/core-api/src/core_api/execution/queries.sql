-- Session execution. Row-level security limits every query to the caller's organization and, for a
-- patient, to their own rows: another patient's or organization's row is simply not found.

-- name: today
-- Everything today's session reads, as one JSON document: the patient's zone; their consent (the newest
-- record of each kind, as consent's current_consent reads it: no record is level 0 and no biometric
-- consent); and every enrollment of the patient with its frozen sessions and the completion times of its
-- completed sessions (at most sessions_total of them), active ones first, newest first, at most 50; the
-- status is the status now (enrollment_status_now). No row when the caller cannot see the patient.
SELECT json_build_object(
    'time_zone', pa.time_zone,
    'consent', json_build_object(
        'analytics_level', coalesce((SELECT c.analytics_level FROM patient_consents c
                                     WHERE c.patient_id = pa.id AND c.kind = 'analytics'
                                     ORDER BY c.id DESC LIMIT 1), 0),
        'biometric', coalesce((SELECT c.granted FROM patient_consents c
                               WHERE c.patient_id = pa.id AND c.kind = 'biometric'
                               ORDER BY c.id DESC LIMIT 1), false)),
    'enrollments', coalesce((
        SELECT json_agg(e.enrollment ORDER BY e.active DESC, e.created_at DESC, e.id DESC)
        FROM (
            SELECT json_build_object(
                       'id', ptp.id,
                       'treatment_plan_id', ptp.treatment_plan_id,
                       'plan_name', v.name,
                       'duration_weeks', v.duration_weeks,
                       'sessions', v.snapshot -> 'sessions',
                       'status', s.status,
                       'start_date', ptp.start_date,
                       'end_date', ptp.end_date,
                       'frequency_per_week', ptp.frequency_per_week,
                       'sessions_total', ptp.sessions_total,
                       'sessions_completed', ptp.sessions_completed,
                       'sessions_skipped', ptp.sessions_skipped,
                       'in_progress_id', (SELECT c.id FROM patient_session_completions c
                                          WHERE c.patient_treatment_plan_id = ptp.id AND c.status = 'in_progress'),
                       'completed_at', coalesce((SELECT json_agg(c.completed_at ORDER BY c.completed_at)
                                                 FROM patient_session_completions c
                                                 WHERE c.patient_treatment_plan_id = ptp.id
                                                   AND c.status = 'completed'), '[]'::json)
                   ) AS enrollment,
                   s.status = 'active' AS active, ptp.created_at, ptp.id
            FROM patient_treatment_plans ptp
            JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
            CROSS JOIN LATERAL (SELECT enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) AS status) s
            WHERE ptp.patient_id = pa.id
            ORDER BY s.status = 'active' DESC, ptp.created_at DESC, ptp.id DESC
            LIMIT 50
        ) e
    ), '[]'::json)
)::text
FROM patients pa
WHERE pa.id = %(patient_id)s AND pa.deleted_at IS NULL

-- name: lock_enrollment
-- The enrollment a session belongs to, locked: starts, completions and skips of one enrollment run one
-- after another.
SELECT ptp.id, ptp.organization_id, ptp.patient_id, ptp.status, ptp.start_date, ptp.end_date,
       ptp.sessions_completed + ptp.sessions_skipped AS sessions_done, ptp.sessions_total,
       pa.time_zone, (v.snapshot -> 'sessions')::text AS sessions_json,
       (v.snapshot -> 'post_session_form_template' ->> 'id')::bigint AS post_session_form_template_id
FROM patient_treatment_plans ptp
JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
JOIN patients pa ON pa.id = ptp.patient_id
WHERE ptp.id = %(id)s
FOR UPDATE OF ptp

-- name: in_progress_completion
SELECT id FROM patient_session_completions
WHERE patient_treatment_plan_id = %(enrollment_id)s AND status = 'in_progress'

-- name: insert_completion
-- Starting a session changes what the adherence engine sees, so it touches the enrollment's updated_at like
-- every other write that feeds the engine (stored weekly reports older than it are stale).
WITH touched AS (
    UPDATE patient_treatment_plans SET updated_at = now() WHERE id = %(enrollment_id)s
)
INSERT INTO patient_session_completions (
    organization_id, patient_id, patient_treatment_plan_id, session_number, status, pain_level_before,
    exercises_total)
VALUES (%(organization_id)s, %(patient_id)s, %(enrollment_id)s, %(session_number)s, 'in_progress',
        %(pain_level_before)s, %(exercises_total)s)
RETURNING id

-- name: insert_exercise_logs
-- One log per exercise of each session, with the prescription of the enrollment's frozen version.
INSERT INTO patient_exercise_logs (
    organization_id, patient_id, session_completion_id, exercise_id, sort_order, prescribed_mode,
    prescribed_sets, prescribed_reps, prescribed_hold_seconds, prescribed_duration_seconds,
    rest_between_sets_seconds, rest_after_exercise_seconds, notes)
SELECT c.organization_id, c.patient_id, c.id, x.exercise_id, x.sort_order, x.mode,
       x.sets, x.reps, x.hold_seconds, x.duration_seconds,
       x.rest_between_sets_seconds, x.rest_after_exercise_seconds, x.notes
FROM patient_session_completions c
JOIN patient_treatment_plans ptp ON ptp.id = c.patient_treatment_plan_id
JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
CROSS JOIN LATERAL jsonb_array_elements(v.snapshot -> 'sessions') AS s (session)
CROSS JOIN LATERAL jsonb_to_recordset(s.session -> 'exercises') AS x (
    exercise_id uuid, sort_order integer, mode text, sets integer, reps integer, hold_seconds integer,
    duration_seconds integer, rest_between_sets_seconds integer, rest_after_exercise_seconds integer,
    notes text)
WHERE c.id = ANY(%(completion_ids)s::bigint[])
  AND (s.session ->> 'session_number')::integer = c.session_number

-- name: completion
-- A session completion with its enrollment's progress and status now; its logs come from exercise_logs.
SELECT c.id, c.patient_treatment_plan_id, c.patient_id, c.session_number, c.status, c.started_at,
       c.completed_at, c.skipped_at, c.duration_seconds, c.exercises_total, c.exercises_completed,
       c.exercises_skipped, c.pain_level_before, c.pain_level_after, c.perceived_difficulty, c.notes,
       c.skip_reason, c.post_session_form_id, c.evidence_state,
       ptp.sessions_completed, ptp.sessions_skipped, ptp.sessions_total,
       round(100.0 * ptp.sessions_completed / ptp.sessions_total, 2)::float8 AS completion_percentage,
       enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) AS enrollment_status
FROM patient_session_completions c
JOIN patient_treatment_plans ptp ON ptp.id = c.patient_treatment_plan_id
JOIN patients pa ON pa.id = ptp.patient_id
WHERE c.id = %(id)s

-- name: completion_enrollment_id
SELECT patient_treatment_plan_id FROM patient_session_completions WHERE id = %(id)s

-- name: lock_completion
SELECT id, status, session_number FROM patient_session_completions WHERE id = %(id)s FOR UPDATE

-- name: exercise_logs
-- The logs of one session (completion_id) or one log (id), in the session's order.
SELECT l.id, l.session_completion_id, l.exercise_id,
       json_build_object('id', e.id, 'name', e.name, 'video_url', e.video_url,
                         'video_thumbnail_url', e.video_thumbnail_url) AS exercise,
       l.sort_order, l.prescribed_mode, l.prescribed_sets, l.prescribed_reps, l.prescribed_hold_seconds,
       l.prescribed_duration_seconds, l.rest_between_sets_seconds, l.rest_after_exercise_seconds, l.notes,
       l.actual_sets, l.actual_reps, l.actual_hold_seconds, l.actual_duration_seconds, l.video_watched,
       l.video_watch_seconds, l.video_watch_percentage::float8 AS video_watch_percentage,
       l.pose_data_captured, l.pose_accuracy_score::float8 AS pose_accuracy_score, l.skipped, l.skip_reason,
       l.started_at, l.completed_at, l.updated_at, l.telemetry_session_id, l.evidence_state,
       l.measured_watch_percentage::float8 AS measured_watch_percentage, l.measured_reps,
       l.mean_form_score::float8 AS mean_form_score
FROM patient_exercise_logs l
JOIN exercises e ON e.id = l.exercise_id
WHERE (%(completion_id)s::bigint IS NULL OR l.session_completion_id = %(completion_id)s::bigint)
  AND (%(id)s::bigint IS NULL OR l.id = %(id)s::bigint)
ORDER BY l.session_completion_id, l.sort_order

-- name: lock_log_completion
-- The session a log belongs to, locked, so a log update and the session's completion never interleave.
SELECT c.id, c.status, c.session_number
FROM patient_exercise_logs l
JOIN patient_session_completions c ON c.id = l.session_completion_id
WHERE l.id = %(id)s
FOR UPDATE OF c

-- name: update_exercise_log
-- A NULL parameter keeps the column (the request left the field out); skipped = false clears the reason.
UPDATE patient_exercise_logs
SET actual_sets = coalesce(%(actual_sets)s::smallint, actual_sets),
    actual_reps = coalesce(%(actual_reps)s::smallint, actual_reps),
    actual_hold_seconds = coalesce(%(actual_hold_seconds)s::integer, actual_hold_seconds),
    actual_duration_seconds = coalesce(%(actual_duration_seconds)s::integer, actual_duration_seconds),
    video_watched = coalesce(%(video_watched)s::boolean, video_watched),
    video_watch_seconds = coalesce(%(video_watch_seconds)s::integer, video_watch_seconds),
    video_watch_percentage = coalesce(%(video_watch_percentage)s::numeric, video_watch_percentage),
    pose_data_captured = coalesce(%(pose_data_captured)s::boolean, pose_data_captured),
    pose_accuracy_score = coalesce(%(pose_accuracy_score)s::numeric, pose_accuracy_score),
    started_at = coalesce(%(started_at)s::timestamptz, started_at),
    completed_at = coalesce(%(completed_at)s::timestamptz, completed_at),
    skipped = coalesce(%(skipped)s::boolean, skipped),
    skip_reason = CASE WHEN coalesce(%(skipped)s::boolean, skipped)
                       THEN coalesce(%(skip_reason)s::text, skip_reason) END,
    updated_at = now()
WHERE id = %(id)s

-- name: finish_completion
-- Steps 1-3 of completing: status, completion time, duration, and the counts from the logs. An exercise
-- counts as completed when it was not skipped and something of it was recorded.
UPDATE patient_session_completions c
SET status = 'completed',
    completed_at = now(),
    duration_seconds = greatest(0, floor(extract(epoch FROM now() - c.started_at)))::integer,
    exercises_completed = counts.completed,
    exercises_skipped = counts.skipped,
    pain_level_after = %(pain_level_after)s,
    perceived_difficulty = %(perceived_difficulty)s,
    notes = %(notes)s,
    updated_at = now()
FROM (
    SELECT count(*) FILTER (
               WHERE NOT l.skipped AND (l.completed_at IS NOT NULL OR l.actual_sets IS NOT NULL
                   OR l.actual_reps IS NOT NULL OR l.actual_hold_seconds IS NOT NULL
                   OR l.actual_duration_seconds IS NOT NULL)) AS completed,
           count(*) FILTER (WHERE l.skipped) AS skipped
    FROM patient_exercise_logs l
    WHERE l.session_completion_id = %(id)s
) AS counts
WHERE c.id = %(id)s

-- name: count_completed_session
-- Steps 4-5: one more completed session; an active enrollment with every session done is completed.
UPDATE patient_treatment_plans
SET sessions_completed = sessions_completed + 1,
    status = CASE WHEN status = 'active' AND sessions_completed + 1 >= sessions_total THEN 'completed'
                  ELSE status END,
    updated_at = now()
WHERE id = %(id)s
RETURNING status

-- name: skip_completion
UPDATE patient_session_completions
SET status = 'skipped', skipped_at = now(), skip_reason = %(reason)s, updated_at = now()
WHERE id = %(id)s

-- name: count_skipped_session
UPDATE patient_treatment_plans
SET sessions_skipped = sessions_skipped + 1, updated_at = now()
WHERE id = %(id)s

-- name: record_status_change
INSERT INTO patient_treatment_plan_status_changes (
    organization_id, patient_id, patient_treatment_plan_id, from_status, to_status, reason,
    changed_by_user_id, changed_by_role)
SELECT organization_id, patient_id, id, %(from_status)s, status, %(reason)s, %(user_id)s, %(role)s
FROM patient_treatment_plans
WHERE id = %(id)s

-- name: insert_form_instance
-- Step 6: the plan version's post-session questionnaire, pending until the patient answers it.
INSERT INTO form_instances (organization_id, patient_id, form_template_id, session_completion_id)
SELECT organization_id, patient_id, %(form_template_id)s, id
FROM patient_session_completions
WHERE id = %(completion_id)s
RETURNING id

-- name: link_form_instance
UPDATE patient_session_completions SET post_session_form_id = %(form_id)s WHERE id = %(id)s

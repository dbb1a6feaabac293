-- Progress and analytics reports. Row-level security limits every query to the caller's organization
-- and, for a patient, to their own rows. Each report runs a fixed number of these statements, whatever
-- the number of sessions or logs: aggregation happens here or over one result set, never per row.

-- name: enrollment
-- The enrollment's schedule and counters, the patient's zone, the session numbers of its frozen version
-- and its status history as JSON (creation first), for the adherence engine. status is the stored one: the
-- engine's history starts from it when the enrollment never changed.
SELECT ptp.id, ptp.status, ptp.start_date, ptp.end_date, ptp.frequency_per_week, v.duration_weeks,
       ptp.sessions_total, ptp.sessions_completed, ptp.sessions_skipped, ptp.created_at, pa.time_zone,
       coalesce((SELECT array_agg((s ->> 'session_number')::integer ORDER BY (s ->> 'session_number')::integer)
                 FROM jsonb_array_elements(v.snapshot -> 'sessions') AS s), '{}') AS session_numbers,
       coalesce((SELECT json_agg(json_build_object('at', c.created_at, 'from_status', c.from_status,
                                                   'to_status', c.to_status) ORDER BY c.id)
                 FROM patient_treatment_plan_status_changes c
                 WHERE c.patient_treatment_plan_id = ptp.id), '[]'::json)::text AS history_json
FROM patient_treatment_plans ptp
JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
JOIN patients pa ON pa.id = ptp.patient_id
WHERE ptp.id = %(id)s

-- name: completions
-- Every session started under the enrollment, in the order they ended (completed or skipped).
SELECT id, session_number, status, started_at, completed_at, skipped_at, duration_seconds,
       exercises_total, exercises_completed, exercises_skipped, pain_level_before, pain_level_after,
       perceived_difficulty
FROM patient_session_completions
WHERE patient_treatment_plan_id = %(id)s
ORDER BY coalesce(completed_at, skipped_at, started_at), id

-- name: video_watch_average
-- The mean video watch percentage of the exercises done in the enrollment's completed sessions.
SELECT avg(l.video_watch_percentage)::float8
FROM patient_session_completions c
JOIN patient_exercise_logs l ON l.session_completion_id = c.id
WHERE c.patient_treatment_plan_id = %(id)s AND c.status = 'completed' AND NOT l.skipped

-- name: engagement
-- Reported and measured video engagement and form over the exercises done in the enrollment's completed
-- sessions (the measured ones only over the logs with evidence), and the evidence state of each completed
-- session that has one, as a JSON object by completion id (docs/adherence.md).
SELECT avg(l.video_watch_percentage)::float8 AS avg_video_watch_percentage,
       avg(l.pose_accuracy_score)::float8 AS avg_pose_accuracy,
       (avg(l.measured_watch_percentage) FILTER (WHERE l.evidence_state IN ('verified', 'partial', 'contradicted')))::float8
           AS avg_measured_watch_percentage,
       (avg(l.mean_form_score) FILTER (WHERE l.evidence_state IN ('verified', 'partial', 'contradicted')))::float8
           AS avg_mean_form_score,
       (SELECT coalesce(json_object_agg(s.id, s.evidence_state), '{}'::json)
        FROM patient_session_completions s
        WHERE s.patient_treatment_plan_id = %(id)s AND s.status = 'completed'
          AND s.evidence_state IS NOT NULL)::text AS evidence_states
FROM patient_session_completions c
JOIN patient_exercise_logs l ON l.session_completion_id = c.id
WHERE c.patient_treatment_plan_id = %(id)s AND c.status = 'completed' AND NOT l.skipped

-- name: exercise_performance
-- Per exercise of the enrollment's completed sessions: how often done and skipped, the mean completion
-- rate (actual volume over prescribed, capped at 100), watch percentage, pose accuracy, the pose scores in
-- session order for the trend, and the measured watch percentage and form score (logs with evidence only).
SELECT l.exercise_id, e.name AS exercise_name,
       count(*) FILTER (WHERE NOT l.skipped) AS times_performed,
       count(*) FILTER (WHERE l.skipped) AS times_skipped,
       avg(r.rate)::float8 AS average_completion_rate,
       (avg(l.video_watch_percentage) FILTER (WHERE NOT l.skipped))::float8 AS average_video_watch_percentage,
       (avg(l.pose_accuracy_score) FILTER (WHERE NOT l.skipped))::float8 AS average_pose_accuracy,
       coalesce(array_agg(l.pose_accuracy_score::float8 ORDER BY c.completed_at, c.id)
                FILTER (WHERE NOT l.skipped AND l.pose_accuracy_score IS NOT NULL), '{}') AS pose_scores,
       (avg(l.measured_watch_percentage)
            FILTER (WHERE NOT l.skipped AND l.evidence_state IN ('verified', 'partial', 'contradicted')))::float8
           AS average_measured_watch_percentage,
       (avg(l.mean_form_score)
            FILTER (WHERE NOT l.skipped AND l.evidence_state IN ('verified', 'partial', 'contradicted')))::float8
           AS average_mean_form_score
FROM patient_session_completions c
JOIN patient_exercise_logs l ON l.session_completion_id = c.id
JOIN exercises e ON e.id = l.exercise_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN NOT l.skipped AND l.actual_sets IS NOT NULL THEN
        least(100.0, 100.0 * l.actual_sets / l.prescribed_sets *
            CASE WHEN l.prescribed_mode = 'reps' AND l.prescribed_reps IS NOT NULL AND l.actual_reps IS NOT NULL
                     THEN l.actual_reps::numeric / l.prescribed_reps
                 WHEN l.prescribed_mode = 'duration' AND l.prescribed_duration_seconds IS NOT NULL
                      AND l.actual_duration_seconds IS NOT NULL
                     THEN l.actual_duration_seconds::numeric / l.prescribed_duration_seconds
                 ELSE 1 END)
    END AS rate
) AS r
WHERE c.patient_treatment_plan_id = %(id)s AND c.status = 'completed'
GROUP BY l.exercise_id, e.name
ORDER BY min(l.sort_order), e.name, l.exercise_id

-- Organization dashboard. An enrollment is in the period when it overlaps [from, to]; NULL bounds are open.

-- name: org_pain_reduction
-- Completed plans: the first pain before a session and the last pain after one, averaged over plans that
-- have both.
WITH plan_pain AS (
    SELECT (SELECT c.pain_level_before FROM patient_session_completions c
            WHERE c.patient_treatment_plan_id = ptp.id AND c.status = 'completed'
              AND c.pain_level_before IS NOT NULL
            ORDER BY c.completed_at, c.id LIMIT 1) AS first_before,
           (SELECT c.pain_level_after FROM patient_session_completions c
            WHERE c.patient_treatment_plan_id = ptp.id AND c.status = 'completed'
              AND c.pain_level_after IS NOT NULL
            ORDER BY c.completed_at DESC, c.id DESC LIMIT 1) AS last_after
    FROM patient_treatment_plans ptp
    WHERE ptp.status = 'completed'
      AND (%(from)s::date IS NULL OR ptp.end_date >= %(from)s::date)
      AND (%(to)s::date IS NULL OR ptp.start_date <= %(to)s::date)
)
SELECT count(*) AS plans,
       avg(first_before)::float8 AS average_pain_before,
       avg(last_after)::float8 AS average_pain_after,
       avg(first_before - last_after)::float8 AS average_reduction
FROM plan_pain
WHERE first_before IS NOT NULL AND last_after IS NOT NULL

-- name: org_active_schedules
-- Every enrollment active now (enrollment_status_now) with what the adherence engine needs: schedule, zone,
-- history and sessions (with their evidence state); status is the stored one, where the engine's history
-- starts.
SELECT ptp.id, ptp.status, ptp.start_date, ptp.frequency_per_week, v.duration_weeks, ptp.created_at,
       pa.time_zone,
       coalesce((SELECT json_agg(json_build_object('at', h.created_at, 'from_status', h.from_status,
                                                   'to_status', h.to_status) ORDER BY h.id)
                 FROM patient_treatment_plan_status_changes h
                 WHERE h.patient_treatment_plan_id = ptp.id), '[]'::json)::text AS history_json,
       coalesce((SELECT json_agg(json_build_object('id', c.id, 'status', c.status, 'started_at', c.started_at,
                                                   'ended_at', coalesce(c.completed_at, c.skipped_at),
                                                   'evidence_state', c.evidence_state)
                                 ORDER BY c.id)
                 FROM patient_session_completions c
                 WHERE c.patient_treatment_plan_id = ptp.id), '[]'::json)::text AS completions_json
FROM patient_treatment_plans ptp
JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
JOIN patients pa ON pa.id = ptp.patient_id
WHERE enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) = 'active'
  AND (%(from)s::date IS NULL OR ptp.end_date >= %(from)s::date)
  AND (%(to)s::date IS NULL OR ptp.start_date <= %(to)s::date)
ORDER BY ptp.id

-- name: org_exercise_usage
-- Per exercise, over the exercise logs of the period's enrollments: prescribed (a log was created),
-- performed and skipped in completed sessions, mean pose accuracy and watch percentage of the performed ones,
-- and their measured watch percentage and form score (logs with evidence only).
SELECT l.exercise_id, e.name AS exercise_name,
       count(*) AS times_prescribed,
       count(*) FILTER (WHERE c.status = 'completed' AND NOT l.skipped) AS times_performed,
       count(*) FILTER (WHERE c.status = 'completed' AND l.skipped) AS times_skipped,
       (avg(l.pose_accuracy_score) FILTER (WHERE c.status = 'completed' AND NOT l.skipped))::float8
           AS average_pose_accuracy,
       (avg(l.video_watch_percentage) FILTER (WHERE c.status = 'completed' AND NOT l.skipped))::float8
           AS average_video_watch_percentage,
       (avg(l.measured_watch_percentage) FILTER (WHERE c.status = 'completed' AND NOT l.skipped
                                                   AND l.evidence_state IN ('verified', 'partial', 'contradicted')))::float8
           AS average_measured_watch_percentage,
       (avg(l.mean_form_score) FILTER (WHERE c.status = 'completed' AND NOT l.skipped
                                         AND l.evidence_state IN ('verified', 'partial', 'contradicted')))::float8
           AS average_mean_form_score
FROM patient_treatment_plans ptp
JOIN patient_session_completions c ON c.patient_treatment_plan_id = ptp.id
JOIN patient_exercise_logs l ON l.session_completion_id = c.id
JOIN exercises e ON e.id = l.exercise_id
WHERE (%(from)s::date IS NULL OR ptp.end_date >= %(from)s::date)
  AND (%(to)s::date IS NULL OR ptp.start_date <= %(to)s::date)
GROUP BY l.exercise_id, e.name
ORDER BY l.exercise_id

-- name: org_plan_outcomes
-- Finished enrollments by their status now (enrollment_status_now).
SELECT count(*) FILTER (WHERE s.status = 'completed') AS completed,
       count(*) FILTER (WHERE s.status = 'expired') AS expired,
       count(*) FILTER (WHERE s.status = 'cancelled') AS cancelled
FROM patient_treatment_plans ptp
JOIN patients pa ON pa.id = ptp.patient_id
CROSS JOIN LATERAL (SELECT enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) AS status) s
WHERE (%(from)s::date IS NULL OR ptp.end_date >= %(from)s::date)
  AND (%(to)s::date IS NULL OR ptp.start_date <= %(to)s::date)

-- name: org_service_plan_usage
-- Enrollments per treatment plan and the service plan that bills them: the patient's service plan the
-- enrollment was made under, else the plan's own. Revenue: the service plan's price once per enrollment
-- (NULL when the service plan has no price). Active: active now (enrollment_status_now).
SELECT tp.id AS treatment_plan_id, tp.name AS treatment_plan_name,
       sp.id AS service_plan_id, sp.name AS service_plan_name,
       count(*) AS enrollments,
       count(*) FILTER (WHERE enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) = 'active')
           AS active_enrollments,
       coalesce(sum(ptp.sessions_completed), 0)::bigint AS sessions_completed,
       sp.currency,
       sp.price_cents * count(*) AS revenue_cents
FROM patient_treatment_plans ptp
JOIN patients pa ON pa.id = ptp.patient_id
JOIN treatment_plans tp ON tp.id = ptp.treatment_plan_id
LEFT JOIN patient_service_plans psp ON psp.id = ptp.patient_service_plan_id
LEFT JOIN service_plans sp ON sp.id = coalesce(psp.service_plan_id, tp.service_plan_id)
WHERE (%(from)s::date IS NULL OR ptp.end_date >= %(from)s::date)
  AND (%(to)s::date IS NULL OR ptp.start_date <= %(to)s::date)
GROUP BY tp.id, tp.name, sp.id, sp.name, sp.currency, sp.price_cents
ORDER BY count(*) DESC, tp.name, tp.id, sp.id
LIMIT 100

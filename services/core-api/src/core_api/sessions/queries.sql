-- Plan sessions and the exercises each prescribes.
-- Row-level security limits every query to the caller's organization plus global rows. The service locks
-- the plan row before any write here, so the numbering read at the start of a change stays true until it
-- commits. Renumbering is ``ordering.py``'s, with the unique constraints deferred.

-- Sessions ------------------------------------------------------------------------------------------------

-- name: plan_exists
SELECT EXISTS (SELECT 1 FROM treatment_plans WHERE id = %(plan_id)s AND deleted_at IS NULL)

-- name: list_sessions
SELECT s.id, s.session_number, s.name, s.description, s.estimated_duration_minutes,
       (SELECT count(*) FROM treatment_plan_session_exercises se WHERE se.session_id = s.id) AS exercises_count
FROM treatment_plan_sessions s
WHERE s.treatment_plan_id = %(plan_id)s
ORDER BY s.session_number

-- name: get_session
SELECT s.id, s.session_number, s.name, s.description, s.estimated_duration_minutes,
       (SELECT count(*) FROM treatment_plan_session_exercises se WHERE se.session_id = s.id) AS exercises_count
FROM treatment_plan_sessions s
WHERE s.id = %(id)s AND s.treatment_plan_id = %(plan_id)s

-- name: read_session
-- A session by its id alone, unless its plan is deleted.
SELECT s.id, s.session_number, s.name, s.description, s.estimated_duration_minutes,
       (SELECT count(*) FROM treatment_plan_session_exercises se WHERE se.session_id = s.id) AS exercises_count
FROM treatment_plan_sessions s
JOIN treatment_plans p ON p.id = s.treatment_plan_id AND p.deleted_at IS NULL
WHERE s.id = %(id)s

-- name: session_count
SELECT count(*) FROM treatment_plan_sessions WHERE treatment_plan_id = %(plan_id)s

-- name: insert_session
INSERT INTO treatment_plan_sessions (
    organization_id, treatment_plan_id, session_number, name, description, estimated_duration_minutes)
VALUES (%(organization_id)s, %(plan_id)s, %(session_number)s, %(name)s, %(description)s,
        %(estimated_duration_minutes)s)
RETURNING id

-- name: update_session
UPDATE treatment_plan_sessions
SET name = %(name)s, description = %(description)s, estimated_duration_minutes = %(estimated_duration_minutes)s
WHERE id = %(id)s

-- name: delete_session
-- Its exercises go with it (ON DELETE CASCADE).
DELETE FROM treatment_plan_sessions WHERE id = %(id)s

-- Session exercises ----------------------------------------------------------------------------------------

-- name: session_plan_id
-- The plan of a session the caller can see, unless the plan is deleted.
SELECT s.treatment_plan_id
FROM treatment_plan_sessions s
JOIN treatment_plans p ON p.id = s.treatment_plan_id AND p.deleted_at IS NULL
WHERE s.id = %(session_id)s

-- name: session_exercises
-- A session's exercises by sort_order; with %(id)s only that one.
SELECT se.id, se.exercise_id, se.sort_order,
       json_build_object(
           'id', e.id, 'name', e.name, 'video_url', e.video_url, 'video_thumbnail_url', e.video_thumbnail_url,
           'difficulty', e.difficulty, 'estimated_duration_seconds', e.estimated_duration_seconds
       ) AS exercise,
       se.mode, se.sets, se.reps, se.hold_seconds, se.duration_seconds, se.rest_between_sets_seconds,
       se.rest_after_exercise_seconds, se.notes
FROM treatment_plan_session_exercises se
JOIN exercises e ON e.id = se.exercise_id
WHERE se.session_id = %(session_id)s AND (%(id)s::bigint IS NULL OR se.id = %(id)s)
ORDER BY se.sort_order

-- name: read_session_exercise
-- A prescription by its id alone, unless its plan is deleted.
SELECT se.id, se.exercise_id, se.sort_order,
       json_build_object(
           'id', e.id, 'name', e.name, 'video_url', e.video_url, 'video_thumbnail_url', e.video_thumbnail_url,
           'difficulty', e.difficulty, 'estimated_duration_seconds', e.estimated_duration_seconds
       ) AS exercise,
       se.mode, se.sets, se.reps, se.hold_seconds, se.duration_seconds, se.rest_between_sets_seconds,
       se.rest_after_exercise_seconds, se.notes
FROM treatment_plan_session_exercises se
JOIN exercises e ON e.id = se.exercise_id
JOIN treatment_plan_sessions s ON s.id = se.session_id
JOIN treatment_plans p ON p.id = s.treatment_plan_id AND p.deleted_at IS NULL
WHERE se.id = %(id)s

-- name: session_exercise_count
SELECT count(*) FROM treatment_plan_session_exercises WHERE session_id = %(session_id)s

-- name: exercise_published
-- Whether a usable exercise (own or global, not deleted) is published; no row when there is none.
SELECT published FROM exercises WHERE id = %(exercise_id)s AND deleted_at IS NULL

-- name: insert_session_exercise
INSERT INTO treatment_plan_session_exercises (
    organization_id, session_id, exercise_id, sort_order, mode, sets, reps, hold_seconds, duration_seconds,
    rest_between_sets_seconds, rest_after_exercise_seconds, notes)
VALUES (%(organization_id)s, %(session_id)s, %(exercise_id)s, %(sort_order)s, %(mode)s, %(sets)s, %(reps)s,
        %(hold_seconds)s, %(duration_seconds)s, %(rest_between_sets_seconds)s,
        %(rest_after_exercise_seconds)s, %(notes)s)
RETURNING id

-- name: update_session_exercise
-- Writes every prescription column but sort_order (moves are ordering.py's); the service merges the
-- request into the current values first.
UPDATE treatment_plan_session_exercises
SET exercise_id = %(exercise_id)s, mode = %(mode)s, sets = %(sets)s, reps = %(reps)s,
    hold_seconds = %(hold_seconds)s, duration_seconds = %(duration_seconds)s,
    rest_between_sets_seconds = %(rest_between_sets_seconds)s,
    rest_after_exercise_seconds = %(rest_after_exercise_seconds)s, notes = %(notes)s
WHERE id = %(id)s

-- name: delete_session_exercise
DELETE FROM treatment_plan_session_exercises WHERE id = %(id)s


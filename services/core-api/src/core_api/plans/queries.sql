-- Treatment plans: authoring, versions, clone, promote and the patient library.
-- Row-level security limits every query to the caller's organization plus global rows.

-- name: plan_detail
-- The whole plan with its sessions and their exercises as one JSON document: one round trip,
-- and the same document a published version keeps as its snapshot.
SELECT json_build_object(
    'id', p.id,
    'name', p.name,
    'description', p.description,
    'type', p.type,
    'scope', CASE WHEN p.organization_id IS NULL THEN 'global'
                  WHEN p.created_for_patient_id IS NOT NULL THEN 'custom' ELSE 'org' END,
    'visibility', p.visibility,
    'condition_tags', p.condition_tags,
    'created_from_id', p.created_from_id,
    'created_for_patient_id', p.created_for_patient_id,
    'frequency_per_week', p.frequency_per_week,
    'duration_weeks', p.duration_weeks,
    'total_sessions', p.frequency_per_week * p.duration_weeks,
    'specialist', CASE WHEN sp.id IS NULL THEN NULL ELSE json_build_object('id', sp.id, 'name', sp.name) END,
    'specialty', CASE WHEN sy.id IS NULL THEN NULL ELSE json_build_object('id', sy.id, 'name', sy.name) END,
    'requires_approval', p.requires_approval,
    'post_session_form_template',
        CASE WHEN ft.id IS NULL THEN NULL ELSE json_build_object('id', ft.id, 'title', ft.title) END,
    'service_plan', CASE WHEN sv.id IS NULL THEN NULL ELSE json_build_object('id', sv.id, 'name', sv.name) END,
    'status', p.status,
    'version', p.version,
    'published', p.published,
    'sessions', coalesce((
        SELECT json_agg(json_build_object(
            'id', s.id,
            'session_number', s.session_number,
            'name', s.name,
            'description', s.description,
            'estimated_duration_minutes', s.estimated_duration_minutes,
            'exercises', coalesce((
                SELECT json_agg(json_build_object(
                    'id', se.id,
                    'exercise_id', se.exercise_id,
                    'sort_order', se.sort_order,
                    'exercise', json_build_object(
                        'id', e.id, 'name', e.name, 'video_thumbnail_url', e.video_thumbnail_url,
                        'difficulty', e.difficulty, 'video_url', e.video_url,
                        'instructions', instruction_steps(e.instructions)),
                    'mode', se.mode,
                    'sets', se.sets,
                    'reps', se.reps,
                    'hold_seconds', se.hold_seconds,
                    'duration_seconds', se.duration_seconds,
                    'rest_between_sets_seconds', se.rest_between_sets_seconds,
                    'rest_after_exercise_seconds', se.rest_after_exercise_seconds,
                    'notes', se.notes
                ) ORDER BY se.sort_order)
                FROM treatment_plan_session_exercises se
                JOIN exercises e ON e.id = se.exercise_id
                WHERE se.session_id = s.id
            ), '[]'::json)
        ) ORDER BY s.session_number)
        FROM treatment_plan_sessions s
        WHERE s.treatment_plan_id = p.id
    ), '[]'::json),
    'created_by_user_id', p.created_by_user_id,
    'created_at', p.created_at,
    'updated_at', p.updated_at
)::text
FROM treatment_plans p
LEFT JOIN specialists sp ON sp.id = p.specialist_id
LEFT JOIN specialties sy ON sy.id = p.specialty_id
LEFT JOIN form_templates ft ON ft.id = p.post_session_form_template_id
LEFT JOIN service_plans sv ON sv.id = p.service_plan_id
WHERE p.id = %(id)s AND p.deleted_at IS NULL

-- name: lock_plan
-- Every change to a plan or its sessions starts here, so two concurrent changes run one after the other.
SELECT id, organization_id, name, description, type, visibility, condition_tags, frequency_per_week,
       duration_weeks, specialist_id, specialty_id, requires_approval, post_session_form_template_id,
       service_plan_id, status, version, published, created_for_patient_id
FROM treatment_plans
WHERE id = %(id)s AND deleted_at IS NULL
FOR UPDATE

-- name: insert_plan
INSERT INTO treatment_plans (
    organization_id, name, description, type, visibility, condition_tags, frequency_per_week, duration_weeks,
    specialist_id, specialty_id, requires_approval, post_session_form_template_id, service_plan_id,
    created_by_user_id)
VALUES (
    %(organization_id)s, %(name)s, %(description)s, %(type)s, %(visibility)s, %(condition_tags)s,
    %(frequency_per_week)s, %(duration_weeks)s, %(specialist_id)s, %(specialty_id)s, %(requires_approval)s,
    %(post_session_form_template_id)s, %(service_plan_id)s, %(user_id)s)
RETURNING id

-- name: update_plan
-- Writes every editable column; the service merges the request into the current values first.
-- Visibility is not one: only create, clone and promote set it.
UPDATE treatment_plans SET
    name = %(name)s, description = %(description)s, type = %(type)s,
    condition_tags = %(condition_tags)s, frequency_per_week = %(frequency_per_week)s,
    duration_weeks = %(duration_weeks)s, specialist_id = %(specialist_id)s, specialty_id = %(specialty_id)s,
    requires_approval = %(requires_approval)s, post_session_form_template_id = %(post_session_form_template_id)s,
    service_plan_id = %(service_plan_id)s, status = %(status)s, version = %(version)s, updated_at = now()
WHERE id = %(id)s

-- name: soft_delete_plan
UPDATE treatment_plans SET deleted_at = now(), updated_at = now() WHERE id = %(id)s

-- name: references_in_scope
-- Which of the referenced rows the caller's organization can use (own or global); NULL ids count as usable.
SELECT
    (%(specialist_id)s::bigint IS NULL
        OR EXISTS (SELECT 1 FROM specialists WHERE id = %(specialist_id)s AND deleted_at IS NULL)) AS specialist_id,
    (%(specialty_id)s::bigint IS NULL
        OR EXISTS (SELECT 1 FROM specialties WHERE id = %(specialty_id)s AND deleted_at IS NULL)) AS specialty_id,
    (%(post_session_form_template_id)s::bigint IS NULL
        OR EXISTS (SELECT 1 FROM form_templates
                   WHERE id = %(post_session_form_template_id)s AND deleted_at IS NULL)) AS post_session_form_template_id,
    (%(service_plan_id)s::bigint IS NULL
        OR EXISTS (SELECT 1 FROM service_plans WHERE id = %(service_plan_id)s AND deleted_at IS NULL)) AS service_plan_id

-- name: patient_exists
SELECT EXISTS (SELECT 1 FROM patients WHERE id = %(patient_id)s AND deleted_at IS NULL)

-- name: session_exercise_counts
SELECT s.session_number, count(se.id) AS exercises
FROM treatment_plan_sessions s
LEFT JOIN treatment_plan_session_exercises se ON se.session_id = s.id
WHERE s.treatment_plan_id = %(id)s
GROUP BY s.session_number
ORDER BY s.session_number

-- name: insert_version
INSERT INTO treatment_plan_versions (
    organization_id, treatment_plan_id, version, name, type, frequency_per_week, duration_weeks, sessions_count,
    snapshot, created_by_user_id)
SELECT organization_id, id, version, name, type, frequency_per_week, duration_weeks,
       (SELECT count(*) FROM treatment_plan_sessions WHERE treatment_plan_id = %(id)s),
       %(snapshot)s, %(user_id)s
FROM treatment_plans
WHERE id = %(id)s

-- name: mark_published
UPDATE treatment_plans
SET published = true, published_at = now(), status = %(status)s, updated_at = now()
WHERE id = %(id)s
RETURNING id, version, status, published, published_at

-- name: latest_version_number
SELECT max(version) FROM treatment_plan_versions WHERE treatment_plan_id = %(id)s

-- name: list_versions
SELECT id, version, name, type, frequency_per_week, duration_weeks, sessions_count, created_by_user_id, created_at
FROM treatment_plan_versions
WHERE treatment_plan_id = %(id)s
ORDER BY version DESC

-- name: version_detail
SELECT json_build_object(
    'id', v.id,
    'treatment_plan_id', v.treatment_plan_id,
    'version', v.version,
    'name', v.name,
    'type', v.type,
    'frequency_per_week', v.frequency_per_week,
    'duration_weeks', v.duration_weeks,
    'sessions_count', v.sessions_count,
    'created_by_user_id', v.created_by_user_id,
    'created_at', v.created_at,
    'sessions_snapshot', v.snapshot -> 'sessions',
    'plan_snapshot', v.snapshot
)::text
FROM treatment_plan_versions v
JOIN treatment_plans p ON p.id = v.treatment_plan_id AND p.deleted_at IS NULL
WHERE v.treatment_plan_id = %(id)s AND v.version = %(version)s

-- name: version_snapshot
SELECT snapshot FROM treatment_plan_versions WHERE treatment_plan_id = %(id)s AND version = %(version)s

-- name: delete_sessions
DELETE FROM treatment_plan_sessions WHERE treatment_plan_id = %(id)s

-- name: restore_sessions
-- Recreate sessions and their exercises from a version snapshot's "sessions" array.
WITH snapshot_sessions AS (
    SELECT s.value AS session
    FROM jsonb_array_elements(%(sessions)s::jsonb) AS s(value)
), inserted AS (
    INSERT INTO treatment_plan_sessions (
        organization_id, treatment_plan_id, session_number, name, description, estimated_duration_minutes)
    SELECT %(organization_id)s, %(id)s, (session ->> 'session_number')::int, session ->> 'name',
           coalesce(session ->> 'description', ''), (session ->> 'estimated_duration_minutes')::int
    FROM snapshot_sessions
    RETURNING id, session_number
)
INSERT INTO treatment_plan_session_exercises (
    organization_id, session_id, exercise_id, sort_order, mode, sets, reps, hold_seconds, duration_seconds,
    rest_between_sets_seconds, rest_after_exercise_seconds, notes)
SELECT %(organization_id)s, i.id, (x ->> 'exercise_id')::uuid, (x ->> 'sort_order')::int, x ->> 'mode',
       (x ->> 'sets')::smallint, (x ->> 'reps')::smallint, (x ->> 'hold_seconds')::int,
       (x ->> 'duration_seconds')::int, (x ->> 'rest_between_sets_seconds')::int,
       (x ->> 'rest_after_exercise_seconds')::int, x ->> 'notes'
FROM snapshot_sessions ss
JOIN inserted i ON i.session_number = (ss.session ->> 'session_number')::int
CROSS JOIN LATERAL jsonb_array_elements(ss.session -> 'exercises') AS x

-- name: set_version_and_status
UPDATE treatment_plans SET version = %(version)s, status = %(status)s, updated_at = now() WHERE id = %(id)s

-- name: clone_plan
INSERT INTO treatment_plans (
    organization_id, name, description, type, visibility, condition_tags, created_from_id, created_for_patient_id,
    frequency_per_week, duration_weeks, specialist_id, specialty_id, requires_approval,
    post_session_form_template_id, service_plan_id, created_by_user_id)
SELECT %(organization_id)s, coalesce(%(name)s, p.name), p.description, p.type, 'internal', p.condition_tags, p.id,
       %(created_for_patient_id)s, p.frequency_per_week, p.duration_weeks,
       -- Org-owned references only carry over within the same organization.
       CASE WHEN p.organization_id = %(organization_id)s THEN p.specialist_id END,
       CASE WHEN sy.organization_id IS NULL OR sy.organization_id = %(organization_id)s THEN p.specialty_id END,
       p.requires_approval,
       CASE WHEN ft.organization_id IS NULL OR ft.organization_id = %(organization_id)s
            THEN p.post_session_form_template_id END,
       CASE WHEN p.organization_id = %(organization_id)s THEN p.service_plan_id END,
       %(user_id)s
FROM treatment_plans p
LEFT JOIN specialties sy ON sy.id = p.specialty_id
LEFT JOIN form_templates ft ON ft.id = p.post_session_form_template_id
WHERE p.id = %(source_id)s
RETURNING id

-- name: clone_sessions
WITH source_sessions AS (
    SELECT id, session_number, name, description, estimated_duration_minutes
    FROM treatment_plan_sessions WHERE treatment_plan_id = %(source_id)s
), inserted AS (
    INSERT INTO treatment_plan_sessions (
        organization_id, treatment_plan_id, session_number, name, description, estimated_duration_minutes)
    SELECT %(organization_id)s, %(id)s, session_number, name, description, estimated_duration_minutes
    FROM source_sessions
    RETURNING id, session_number
)
INSERT INTO treatment_plan_session_exercises (
    organization_id, session_id, exercise_id, sort_order, mode, sets, reps, hold_seconds, duration_seconds,
    rest_between_sets_seconds, rest_after_exercise_seconds, notes)
SELECT %(organization_id)s, i.id, se.exercise_id, se.sort_order, se.mode, se.sets, se.reps, se.hold_seconds,
       se.duration_seconds, se.rest_between_sets_seconds, se.rest_after_exercise_seconds, se.notes
FROM source_sessions ss
JOIN inserted i ON i.session_number = ss.session_number
JOIN treatment_plan_session_exercises se ON se.session_id = ss.id

-- name: promote_plan
UPDATE treatment_plans
SET created_for_patient_id = NULL, visibility = coalesce(%(visibility)s, visibility), updated_at = now()
WHERE id = %(id)s

-- name: list_plans
-- One page of plans and the total in one statement; every filter is optional (NULL means "any").
SELECT
    count(*) OVER () AS total,
    p.id, p.name, p.description, p.type,
    CASE WHEN p.organization_id IS NULL THEN 'global'
         WHEN p.created_for_patient_id IS NOT NULL THEN 'custom' ELSE 'org' END AS scope,
    p.visibility, p.condition_tags, p.created_from_id, p.created_for_patient_id, p.frequency_per_week,
    p.duration_weeks, p.frequency_per_week * p.duration_weeks AS total_sessions,
    CASE WHEN sp.id IS NULL THEN NULL ELSE json_build_object('id', sp.id, 'name', sp.name) END AS specialist,
    CASE WHEN sy.id IS NULL THEN NULL ELSE json_build_object('id', sy.id, 'name', sy.name) END AS specialty,
    p.requires_approval, p.post_session_form_template_id, p.service_plan_id, p.status, p.version, p.published,
    (SELECT count(*) FROM treatment_plan_sessions s WHERE s.treatment_plan_id = p.id) AS sessions_count,
    p.created_at, p.updated_at
FROM treatment_plans p
LEFT JOIN specialists sp ON sp.id = p.specialist_id
LEFT JOIN specialties sy ON sy.id = p.specialty_id
WHERE p.deleted_at IS NULL
  AND (%(type)s::text IS NULL OR p.type = %(type)s)
  AND (%(status)s::text IS NULL OR p.status = %(status)s)
  AND (%(scope)s::text IS NULL
       OR (%(scope)s = 'global' AND p.organization_id IS NULL)
       OR (%(scope)s = 'org' AND p.organization_id IS NOT NULL AND p.created_for_patient_id IS NULL)
       OR (%(scope)s = 'custom' AND p.created_for_patient_id IS NOT NULL))
  AND (%(visibility)s::text IS NULL OR p.visibility = %(visibility)s)
  AND (%(specialist_id)s::bigint IS NULL OR p.specialist_id = %(specialist_id)s)
  AND (%(specialty_id)s::bigint IS NULL OR p.specialty_id = %(specialty_id)s)
  AND (%(condition_tags)s::text[] IS NULL OR p.condition_tags && %(condition_tags)s)
  AND (%(published)s::boolean IS NULL OR p.published = %(published)s)
  AND (%(q)s::text IS NULL OR p.search @@ websearch_to_tsquery('english', %(q)s))
  AND (%(library_only)s::boolean IS FALSE OR treatment_plan_in_library(p))
ORDER BY {order}
LIMIT %(limit)s OFFSET %(offset)s

-- name: library_difficulty
-- For the library: the hardest exercise in each plan's latest published version.
SELECT v.treatment_plan_id AS id,
       (ARRAY['beginner', 'intermediate', 'advanced'])[max(array_position(
           ARRAY['beginner', 'intermediate', 'advanced'], e.entry -> 'exercise' ->> 'difficulty'))] AS difficulty
FROM treatment_plan_versions v
CROSS JOIN LATERAL jsonb_array_elements(v.snapshot -> 'sessions') AS s(session)
CROSS JOIN LATERAL jsonb_array_elements(s.session -> 'exercises') AS e(entry)
WHERE v.treatment_plan_id = ANY(%(ids)s)
  AND v.version = (SELECT max(version) FROM treatment_plan_versions WHERE treatment_plan_id = v.treatment_plan_id)
GROUP BY v.treatment_plan_id

-- name: active_library_access
-- The patient's service plan that is active today (in their zone) and grants library access.
SELECT psp.id
FROM patient_service_plans psp
JOIN service_plans sp ON sp.id = psp.service_plan_id
JOIN patients pa ON pa.id = psp.patient_id
WHERE psp.patient_id = %(patient_id)s
  AND psp.cancelled_at IS NULL
  AND sp.library_access
  AND psp.starts_on <= (now() AT TIME ZONE pa.time_zone)::date
  AND (psp.ends_on IS NULL OR psp.ends_on >= (now() AT TIME ZONE pa.time_zone)::date)
ORDER BY psp.starts_on DESC
LIMIT 1

-- name: in_library
-- Whether the plan is in the patient library (migration 0014 defines the rule); no row when the caller
-- cannot see the plan at all.
SELECT treatment_plan_in_library(p) FROM treatment_plans p WHERE p.id = %(id)s

-- name: latest_version
SELECT id, version, frequency_per_week, duration_weeks
FROM treatment_plan_versions
WHERE treatment_plan_id = %(id)s
ORDER BY version DESC
LIMIT 1

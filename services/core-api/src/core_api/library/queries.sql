-- Reference data: users, specialties, specialists, patients, exercises, form templates, service plans and
-- the service plans patients hold. Row-level security limits every query to the caller's organization
-- (plus global rows where a table has them, and for a patient to their own rows).
--
-- Lists return one row: the number of matching rows and one page of them as a JSON array, so the total
-- stays right even for a page past the end.

-- name: insert_user
INSERT INTO users (organization_id, role, display_name, email)
VALUES (%(organization_id)s, %(role)s, %(display_name)s, %(email)s)
RETURNING id, role, display_name, email, created_at

-- name: get_user
SELECT id, role, display_name, email, created_at
FROM users
WHERE id = %(id)s AND deleted_at IS NULL

-- name: user_has_role
SELECT EXISTS (SELECT 1 FROM users WHERE id = %(id)s AND role = %(role)s AND deleted_at IS NULL)

-- name: list_specialties
WITH matched AS (
    SELECT id, name, organization_id IS NULL AS "global", created_at
    FROM specialties
    WHERE deleted_at IS NULL
      AND (%(q)s::text IS NULL OR strpos(lower(name), lower(%(q)s)) > 0)
)
SELECT (SELECT count(*) FROM matched) AS total,
       (SELECT coalesce(json_agg(page ORDER BY lower(page.name), page.id), '[]'::json)
        FROM (SELECT * FROM matched ORDER BY lower(name), id LIMIT %(limit)s OFFSET %(offset)s) page
       )::text AS items

-- name: insert_specialty
INSERT INTO specialties (organization_id, name)
VALUES (%(organization_id)s, %(name)s)
RETURNING id, name, organization_id IS NULL AS "global", created_at

-- name: get_specialty
SELECT id, name, organization_id IS NULL AS "global", created_at
FROM specialties
WHERE id = %(id)s AND deleted_at IS NULL

-- name: specialty_usable
-- Own or global: the only specialties row-level security lets the caller see.
SELECT EXISTS (SELECT 1 FROM specialties WHERE id = %(id)s AND deleted_at IS NULL)

-- name: list_specialists
WITH matched AS (
    SELECT sp.id, sp.name,
           CASE WHEN sy.id IS NULL THEN NULL ELSE json_build_object('id', sy.id, 'name', sy.name) END
               AS specialty,
           sp.user_id, sp.created_at
    FROM specialists sp
    LEFT JOIN specialties sy ON sy.id = sp.specialty_id
    WHERE sp.deleted_at IS NULL
      AND (%(specialty_id)s::bigint IS NULL OR sp.specialty_id = %(specialty_id)s)
)
SELECT (SELECT count(*) FROM matched) AS total,
       (SELECT coalesce(json_agg(page ORDER BY lower(page.name), page.id), '[]'::json)
        FROM (SELECT * FROM matched ORDER BY lower(name), id LIMIT %(limit)s OFFSET %(offset)s) page
       )::text AS items

-- name: get_specialist
SELECT json_build_object(
    'id', sp.id,
    'name', sp.name,
    'specialty', CASE WHEN sy.id IS NULL THEN NULL ELSE json_build_object('id', sy.id, 'name', sy.name) END,
    'user_id', sp.user_id,
    'created_at', sp.created_at
)::text
FROM specialists sp
LEFT JOIN specialties sy ON sy.id = sp.specialty_id
WHERE sp.id = %(id)s AND sp.deleted_at IS NULL

-- name: insert_specialist
INSERT INTO specialists (organization_id, name, specialty_id, user_id)
VALUES (%(organization_id)s, %(name)s, %(specialty_id)s, %(user_id)s)
RETURNING id

-- name: list_patients
WITH matched AS (
    SELECT id, name, email, date_of_birth, time_zone, user_id, created_at
    FROM patients
    WHERE deleted_at IS NULL
      AND (%(q)s::text IS NULL OR strpos(lower(name), lower(%(q)s)) > 0)
)
SELECT (SELECT count(*) FROM matched) AS total,
       (SELECT coalesce(json_agg(page ORDER BY lower(page.name), page.id), '[]'::json)
        FROM (SELECT * FROM matched ORDER BY lower(name), id LIMIT %(limit)s OFFSET %(offset)s) page
       )::text AS items

-- name: get_patient
SELECT id, name, email, date_of_birth, time_zone, user_id, created_at
FROM patients
WHERE id = %(id)s AND deleted_at IS NULL

-- name: lock_patient
SELECT id, name, email, date_of_birth, time_zone, user_id, created_at
FROM patients
WHERE id = %(id)s AND deleted_at IS NULL
FOR UPDATE

-- name: insert_patient
INSERT INTO patients (organization_id, name, email, date_of_birth, time_zone, user_id)
VALUES (%(organization_id)s, %(name)s, %(email)s, %(date_of_birth)s, %(time_zone)s, %(user_id)s)
RETURNING id, name, email, date_of_birth, time_zone, user_id, created_at

-- name: update_patient
-- Writes every editable column; the service merges the request into the current values first.
UPDATE patients
SET name = %(name)s, email = %(email)s, date_of_birth = %(date_of_birth)s, time_zone = %(time_zone)s,
    user_id = %(user_id)s
WHERE id = %(id)s
RETURNING id, name, email, date_of_birth, time_zone, user_id, created_at

-- name: list_exercises
WITH matched AS (
    SELECT id, name, description, instructions, video_url, video_thumbnail_url, difficulty,
           estimated_duration_seconds, published, organization_id IS NULL AS "global", created_at
    FROM exercises
    WHERE deleted_at IS NULL
      AND (%(published)s::boolean IS NULL OR published = %(published)s)
      AND (%(difficulty)s::text IS NULL OR difficulty = %(difficulty)s)
      AND (%(q)s::text IS NULL OR strpos(lower(name), lower(%(q)s)) > 0)
)
SELECT (SELECT count(*) FROM matched) AS total,
       (SELECT coalesce(json_agg(page ORDER BY lower(page.name), page.id), '[]'::json)
        FROM (SELECT * FROM matched ORDER BY lower(name), id LIMIT %(limit)s OFFSET %(offset)s) page
       )::text AS items

-- name: get_exercise
SELECT id, name, description, instructions, video_url, video_thumbnail_url, difficulty,
       estimated_duration_seconds, published, organization_id IS NULL AS "global", created_at
FROM exercises
WHERE id = %(id)s AND deleted_at IS NULL

-- name: lock_exercise
-- Row-level security lets FOR UPDATE lock only rows the caller may change: global ones are skipped
-- unless the caller is a platform administrator.
SELECT id, name, description, instructions, video_url, video_thumbnail_url, difficulty,
       estimated_duration_seconds, published, organization_id IS NULL AS "global", created_at
FROM exercises
WHERE id = %(id)s AND deleted_at IS NULL
FOR UPDATE

-- name: insert_exercise
INSERT INTO exercises (
    organization_id, name, description, instructions, video_url, video_thumbnail_url, difficulty,
    estimated_duration_seconds, published)
VALUES (
    %(organization_id)s, %(name)s, %(description)s, %(instructions)s, %(video_url)s, %(video_thumbnail_url)s,
    %(difficulty)s, %(estimated_duration_seconds)s, %(published)s)
RETURNING id, name, description, instructions, video_url, video_thumbnail_url, difficulty,
          estimated_duration_seconds, published, organization_id IS NULL AS "global", created_at

-- name: update_exercise
UPDATE exercises
SET name = %(name)s, description = %(description)s, instructions = %(instructions)s, video_url = %(video_url)s,
    video_thumbnail_url = %(video_thumbnail_url)s, difficulty = %(difficulty)s,
    estimated_duration_seconds = %(estimated_duration_seconds)s, published = %(published)s
WHERE id = %(id)s
RETURNING id, name, description, instructions, video_url, video_thumbnail_url, difficulty,
          estimated_duration_seconds, published, organization_id IS NULL AS "global", created_at

-- name: list_form_templates
WITH matched AS (
    SELECT id, title, kind, schema, organization_id IS NULL AS "global", created_at
    FROM form_templates
    WHERE deleted_at IS NULL
      AND (%(kind)s::text IS NULL OR kind = %(kind)s)
)
SELECT (SELECT count(*) FROM matched) AS total,
       (SELECT coalesce(json_agg(page ORDER BY lower(page.title), page.id), '[]'::json)
        FROM (SELECT * FROM matched ORDER BY lower(title), id LIMIT %(limit)s OFFSET %(offset)s) page
       )::text AS items

-- name: get_form_template
SELECT id, title, kind, schema, organization_id IS NULL AS "global", created_at
FROM form_templates
WHERE id = %(id)s AND deleted_at IS NULL

-- name: insert_form_template
INSERT INTO form_templates (organization_id, title, kind, schema)
VALUES (%(organization_id)s, %(title)s, %(kind)s, %(schema)s)
RETURNING id, title, kind, schema, organization_id IS NULL AS "global", created_at

-- name: list_service_plans
WITH matched AS (
    SELECT id, name, telerehab_access, library_access, price_cents, currency, created_at
    FROM service_plans
    WHERE deleted_at IS NULL
)
SELECT (SELECT count(*) FROM matched) AS total,
       (SELECT coalesce(json_agg(page ORDER BY lower(page.name), page.id), '[]'::json)
        FROM (SELECT * FROM matched ORDER BY lower(name), id LIMIT %(limit)s OFFSET %(offset)s) page
       )::text AS items

-- name: insert_service_plan
INSERT INTO service_plans (organization_id, name, telerehab_access, library_access, price_cents, currency)
VALUES (%(organization_id)s, %(name)s, %(telerehab_access)s, %(library_access)s, %(price_cents)s, %(currency)s)
RETURNING id, name, telerehab_access, library_access, price_cents, currency, created_at

-- name: get_service_plan
SELECT id, name, telerehab_access, library_access, price_cents, currency, created_at
FROM service_plans
WHERE id = %(id)s AND deleted_at IS NULL

-- name: service_plan_usable
SELECT EXISTS (SELECT 1 FROM service_plans WHERE id = %(id)s AND deleted_at IS NULL)

-- name: list_patient_service_plans
-- "active" is judged on today's date where the patient lives. A null patient_id with an id reads one held
-- plan whoever's it is (row-level security still limits a patient to their own).
WITH matched AS (
    SELECT psp.id, psp.patient_id,
           json_build_object('id', sv.id, 'name', sv.name, 'telerehab_access', sv.telerehab_access,
                             'library_access', sv.library_access, 'price_cents', sv.price_cents,
                             'currency', sv.currency, 'created_at', sv.created_at) AS service_plan,
           psp.starts_on, psp.ends_on, psp.cancelled_at,
           (psp.cancelled_at IS NULL
            AND psp.starts_on <= (now() AT TIME ZONE pa.time_zone)::date
            AND (psp.ends_on IS NULL OR psp.ends_on >= (now() AT TIME ZONE pa.time_zone)::date)) AS active,
           psp.created_at
    FROM patient_service_plans psp
    JOIN service_plans sv ON sv.id = psp.service_plan_id
    JOIN patients pa ON pa.id = psp.patient_id
    WHERE (%(patient_id)s::bigint IS NULL OR psp.patient_id = %(patient_id)s)
      AND (%(id)s::bigint IS NULL OR psp.id = %(id)s)
)
SELECT (SELECT count(*) FROM matched) AS total,
       (SELECT coalesce(json_agg(page ORDER BY page.starts_on DESC, page.id DESC), '[]'::json)
        FROM (SELECT * FROM matched ORDER BY starts_on DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s) page
       )::text AS items

-- name: insert_patient_service_plan
INSERT INTO patient_service_plans (organization_id, patient_id, service_plan_id, starts_on, ends_on)
VALUES (%(organization_id)s, %(patient_id)s, %(service_plan_id)s, %(starts_on)s, %(ends_on)s)
RETURNING id

-- Form instances with their template's questions, built as one JSON document per instance. A template
-- stored before questions were typed holds '{}': it reads as a form without questions.

-- name: get_form_instance
-- The repository locks the instance with this query and FOR UPDATE OF fi.
SELECT json_build_object(
           'id', fi.id, 'patient_id', fi.patient_id, 'form_template_id', fi.form_template_id,
           'title', ft.title, 'kind', ft.kind, 'session_completion_id', fi.session_completion_id,
           'status', fi.status, 'questions', coalesce(ft.schema -> 'questions', '[]'::jsonb),
           'responses', fi.responses, 'created_at', fi.created_at, 'submitted_at', fi.submitted_at
       )::text
FROM form_instances fi
JOIN form_templates ft ON ft.id = fi.form_template_id
WHERE fi.id = %(id)s

-- name: patient_exists
SELECT EXISTS (SELECT 1 FROM patients WHERE id = %(id)s AND deleted_at IS NULL)

-- name: list_patient_form_instances
-- Newest first; ``status`` NULL means every status.
WITH matched AS (
    SELECT fi.id, fi.created_at,
           json_build_object(
               'id', fi.id, 'patient_id', fi.patient_id, 'form_template_id', fi.form_template_id,
               'title', ft.title, 'kind', ft.kind, 'session_completion_id', fi.session_completion_id,
               'status', fi.status, 'questions', coalesce(ft.schema -> 'questions', '[]'::jsonb),
               'responses', fi.responses, 'created_at', fi.created_at, 'submitted_at', fi.submitted_at
           ) AS item
    FROM form_instances fi
    JOIN form_templates ft ON ft.id = fi.form_template_id
    WHERE fi.patient_id = %(patient_id)s
      AND (%(status)s::text IS NULL OR fi.status = %(status)s)
)
SELECT (SELECT count(*) FROM matched) AS total,
       (SELECT coalesce(json_agg(page.item ORDER BY page.created_at DESC, page.id DESC), '[]'::json)
        FROM (SELECT * FROM matched ORDER BY created_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s) page
       )::text AS items

-- name: submit_form_instance
UPDATE form_instances
SET status = 'submitted', responses = %(responses)s, submitted_at = now()
WHERE id = %(id)s AND status = 'pending'

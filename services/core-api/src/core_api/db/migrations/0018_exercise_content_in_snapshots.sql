-- What a patient needs to do an exercise (its video and its instructions as steps) travels in the plan
-- document and so in every version snapshot published from now on; today's session and the start route
-- read it from the enrollment's frozen version, never from the live exercise.

-- An exercise's instructions are one text; patients get them as a list of steps: one step per line, a
-- leading list marker ("-", "*", "•", "1." or "1)") and surrounding white space removed, blank lines
-- dropped. The plan document and this migration's backfill both use this one definition.
CREATE FUNCTION instruction_steps(instructions text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(jsonb_agg(step ORDER BY n), '[]'::jsonb)
          FROM (SELECT regexp_replace(regexp_replace(line, '^\s*([-*•]|[0-9]+[.)])\s+', ''),
                                      '^\s+|\s+$', '', 'g') AS step, n
                FROM regexp_split_to_table(coalesce(instructions, ''), E'\n') WITH ORDINALITY AS t (line, n)) s
          WHERE step <> '' $$;
GRANT EXECUTE ON FUNCTION instruction_steps(text) TO rehab_app;

-- Versions published before this migration: their exercises get the video and instructions the exercise
-- has now, the closest record of what it had then. The owner is subject to FORCE ROW LEVEL SECURITY and
-- versions have no owner UPDATE policy, so RLS is relaxed inside this transaction only.
ALTER TABLE treatment_plan_versions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE exercises NO FORCE ROW LEVEL SECURITY;
UPDATE treatment_plan_versions v
SET snapshot = jsonb_set(v.snapshot, '{sessions}', (
    SELECT coalesce(jsonb_agg(jsonb_set(s.session, '{exercises}', (
        SELECT coalesce(jsonb_agg(
                   x.entry || jsonb_build_object('exercise', (x.entry -> 'exercise') || jsonb_build_object(
                       'video_url', e.video_url, 'instructions', instruction_steps(e.instructions)))
                   ORDER BY x.n), '[]'::jsonb)
        FROM jsonb_array_elements(coalesce(s.session -> 'exercises', '[]'::jsonb)) WITH ORDINALITY AS x (entry, n)
        LEFT JOIN exercises e ON e.id = (x.entry ->> 'exercise_id')::uuid
    )) ORDER BY s.n), '[]'::jsonb)
    FROM jsonb_array_elements(v.snapshot -> 'sessions') WITH ORDINALITY AS s (session, n)
))
WHERE jsonb_typeof(v.snapshot -> 'sessions') = 'array';
ALTER TABLE exercises FORCE ROW LEVEL SECURITY;
ALTER TABLE treatment_plan_versions FORCE ROW LEVEL SECURITY;

-- The sessions of a stored weekly report that telemetry verified and contradicted: the evidence states now
-- of the session completions that decided the report's completed slots. The organization page and the
-- trend count them through this one definition (they carried a copy each). One row, declared as a table
-- so that, a single STABLE SELECT in SQL run with the caller's rights, the planner inlines it into the
-- query that calls it; the completions it reads are still scoped by the caller's row-level security.
CREATE FUNCTION weekly_report_evidence(report jsonb) RETURNS TABLE (verified bigint, contradicted bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT count(*) FILTER (WHERE c.evidence_state = 'verified'),
               count(*) FILTER (WHERE c.evidence_state = 'contradicted')
        FROM patient_session_completions c
        WHERE c.id = ANY (ARRAY(
            SELECT (s ->> 'completion_id')::bigint
            FROM jsonb_array_elements(report -> 'days') d
            CROSS JOIN jsonb_array_elements(d -> 'slots') s
            WHERE s ->> 'state' = 'completed'))
    $$;
GRANT EXECUTE ON FUNCTION weekly_report_evidence(jsonb) TO rehab_app;

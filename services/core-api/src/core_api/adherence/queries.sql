-- Adherence reports: what the engine needs (enrollments, status history, session completions) in one
-- query each, whatever the number of enrollments, and the weekly history rows. Row-level security limits
-- every read to the caller's organization, and a patient to their own rows.

-- name: enrollments
-- Enrollments with their schedule, patient zone, plan and the organization's threshold: those of the
-- given ids, or the ones active now, optionally only those a specialist assigned and those whose patient
-- name contains q. status is the status now (enrollment_status_now); stored_status the recorded one, which
-- is the status it was created with when it never changed (the engine's history starts there).
SELECT ptp.id, ptp.patient_id, pa.name AS patient_name, pa.time_zone,
       ptp.treatment_plan_id, v.name AS plan_name, v.type AS plan_type,
       ptp.assigned_by_specialist_id, ptp.start_date, ptp.end_date, ptp.frequency_per_week,
       ptp.sessions_total, enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) AS status,
       ptp.status AS stored_status, ptp.created_at,
       o.adherence_threshold_percent AS threshold_percent
FROM patient_treatment_plans ptp
JOIN patients pa ON pa.id = ptp.patient_id
JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
JOIN organizations o ON o.id = ptp.organization_id
WHERE (%(ids)s::bigint[] IS NULL OR ptp.id = ANY(%(ids)s::bigint[]))
  AND (NOT %(active_only)s::boolean OR enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) = 'active')
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
-- The sessions started under the given enrollments (since an instant, when only recent weeks are
-- computed); a skip ends a session at skipped_at.
SELECT id, patient_treatment_plan_id, status, started_at, coalesce(completed_at, skipped_at) AS ended_at
FROM patient_session_completions
WHERE patient_treatment_plan_id = ANY(%(ids)s::bigint[])
  AND (%(since)s::timestamptz IS NULL OR started_at >= %(since)s)
ORDER BY patient_treatment_plan_id, started_at, id

-- name: evidence_states
-- The evidence state of those of the given completions that are verified or contradicted (the reports
-- count them among the completed slots; docs/adherence.md).
SELECT id, evidence_state
FROM patient_session_completions
WHERE id = ANY(%(ids)s::bigint[]) AND evidence_state IN ('verified', 'contradicted')

-- name: specialist_of_user
SELECT id FROM specialists WHERE user_id = %(user_id)s AND deleted_at IS NULL

-- name: organization_threshold
SELECT adherence_threshold_percent, time_zone FROM organizations WHERE id = app_organization_id()

-- name: upsert_weekly_reports
-- Insert each week's row, or refresh it while it is not final (computed before the week closed): one
-- statement for any number of rows, given as parallel arrays (binary: no escaping of the reports).
INSERT INTO weekly_adherence_reports (
    organization_id, patient_id, patient_treatment_plan_id, week_start, week_number, closes_at,
    adherence_percent, noncompliance_percent, report, computed_at, fresh_until, time_zone)
SELECT ptp.organization_id, ptp.patient_id, ptp.id, r.week_start, r.week_number, r.closes_at,
       r.adherence_percent, r.noncompliance_percent, r.report::jsonb, r.computed_at, r.fresh_until, r.time_zone
FROM unnest(%(id)b::bigint[], %(week_start)b::date[], %(week_number)b::integer[], %(closes_at)b::timestamptz[],
            %(adherence_percent)b::smallint[], %(noncompliance_percent)b::smallint[], %(report)b::text[],
            %(computed_at)b::timestamptz[], %(fresh_until)b::timestamptz[], %(time_zone)b::text[])
     AS r (id, week_start, week_number, closes_at, adherence_percent, noncompliance_percent, report, computed_at,
           fresh_until, time_zone)
JOIN patient_treatment_plans ptp ON ptp.id = r.id
ON CONFLICT (patient_treatment_plan_id, week_start) DO UPDATE
SET adherence_percent = excluded.adherence_percent,
    noncompliance_percent = excluded.noncompliance_percent,
    report = excluded.report,
    computed_at = excluded.computed_at,
    fresh_until = excluded.fresh_until,
    time_zone = excluded.time_zone
WHERE weekly_adherence_reports.computed_at < weekly_adherence_reports.closes_at
  AND excluded.computed_at > weekly_adherence_reports.computed_at

-- name: final_weeks
-- The organization's rows of the weeks starting from %(first)s to %(last)s that are final (computed after
-- their week closed, so never refreshed again): the nightly job leaves them out of its upsert.
SELECT patient_treatment_plan_id, week_start
FROM weekly_adherence_reports
WHERE organization_id = app_organization_id() AND week_start BETWEEN %(first)s AND %(last)s
  AND computed_at >= closes_at

-- name: alerted_weeks
-- (enrollment, week start) of the alerts of one kind the given enrollments already have for the weeks
-- starting from %(first)s to %(last)s (the unique index's range per enrollment): the nightly job does not
-- offer them again, since an alert is recorded once per enrollment, kind and week.
SELECT patient_treatment_plan_id, week_start
FROM adherence_alerts
WHERE patient_treatment_plan_id = ANY(%(ids)s::bigint[]) AND kind = %(kind)s
  AND week_start BETWEEN %(first)s AND %(last)s

-- name: organization_week
-- One page of the organization's weekly adherence read from the stored rows: each active, visible
-- enrollment's plan week containing %(week)s (optionally one specialist's, and a patient name), lowest
-- adherence first, then id; percent bounds are inclusive. A week outside the plan has no row and offers
-- nothing: 100 percent, like the engine; the service fills its summary and empty days. One JSON document:
-- the total, the page and "stale", the enrollments whose row is missing or no longer holds at %(now)s
-- (the service computes and stores those, then reads again). A row holds when it is of the same plan
-- week number and is final (computed after the week closed), or fresh: no window of it opened or closed
-- since it was computed (fresh_until), the patient's zone is the one it was laid out in, and the enrollment
-- was not written after it (every write that feeds the engine touches its updated_at). See docs/adherence.md.
WITH placed AS (
    SELECT ptp.id, ptp.patient_id, pa.name AS patient_name, pa.time_zone, ptp.treatment_plan_id,
           ptp.treatment_plan_version_id, ptp.assigned_by_specialist_id, ptp.updated_at,
           ptp.start_date + 7 * k.week_index AS week_start, k.week_index,
           k.week_index >= 0 AND k.week_index < ptp.sessions_total / ptp.frequency_per_week AS in_plan
    FROM patient_treatment_plans ptp
    JOIN patients pa ON pa.id = ptp.patient_id
    -- Floor division of the day difference in integers (a numeric floor per row cost more than the join).
    CROSS JOIN LATERAL (SELECT %(week)s::date - ptp.start_date AS days) d
    CROSS JOIN LATERAL (SELECT CASE WHEN d.days >= 0 THEN d.days / 7 ELSE -((6 - d.days) / 7) END AS week_index) k
    WHERE enrollment_status_now(ptp.status, ptp.end_date, pa.time_zone) = 'active'
      AND (%(specialist_id)s::bigint IS NULL OR ptp.assigned_by_specialist_id = %(specialist_id)s)
      AND (%(q)s::text IS NULL OR position(lower(%(q)s) IN lower(pa.name)) > 0)
), scored AS (
    SELECT p.*, w.id AS report_id,
           CASE WHEN p.in_plan THEN w.adherence_percent ELSE 100 END AS adherence_percent,
           p.in_plan AND NOT coalesce(
               w.week_number = p.week_index + 1
               AND (w.computed_at >= w.closes_at
                    OR (%(now)s < w.fresh_until
                        AND w.time_zone = p.time_zone
                        -- Every write that feeds the engine (status changes, session starts,
                        -- completions, skips) touches the enrollment's updated_at.
                        AND w.computed_at >= p.updated_at)),
               false) AS stale
    FROM placed p
    -- Every plan week containing %(week)s starts within the six days before it: the range keeps the
    -- join on this week's rows of the organization (weekly_adherence_reports_org_week_idx).
    LEFT JOIN weekly_adherence_reports w
           ON w.organization_id = app_organization_id()
          AND w.week_start BETWEEN %(week)s::date - 6 AND %(week)s::date
          AND w.patient_treatment_plan_id = p.id AND w.week_start = p.week_start AND p.in_plan
), contradicted_sessions AS MATERIALIZED (
    -- With has_contradicted (not evaluated without it): the organization's contradicted sessions started
    -- around the week, from their partial index (every plan week containing %(week)s starts within the six
    -- days before it, and two days either side hold its windows in any zone). Evidence states are read
    -- now: evidence arrives after the session, even after the week closed.
    SELECT c.id, c.patient_treatment_plan_id
    FROM patient_session_completions c
    WHERE %(has_contradicted)s::boolean IS NOT NULL AND c.evidence_state = 'contradicted'
      -- timestamptz on both sides: a comparison with a date is not leakproof, so row-level security
      -- would keep it out of the index scan.
      AND c.started_at >= (%(week)s::date - 8)::timestamptz AND c.started_at < (%(week)s::date + 9)::timestamptz
), contradicted AS (
    -- The enrollments whose stored week has a completed slot decided by one of them.
    SELECT DISTINCT scored.id
    FROM contradicted_sessions c
    JOIN scored ON scored.id = c.patient_treatment_plan_id
    JOIN weekly_adherence_reports r ON r.id = scored.report_id
    WHERE jsonb_path_exists(r.report, '$.days[*].slots[*] ? (@.state == "completed" && @.completion_id == $id)',
                            jsonb_build_object('id', c.id))
), filtered AS (
    SELECT * FROM scored
    WHERE (%(min_percent)s::integer IS NULL OR adherence_percent >= %(min_percent)s)
      AND (%(max_percent)s::integer IS NULL OR adherence_percent <= %(max_percent)s)
      AND (%(has_contradicted)s::boolean IS NULL OR %(has_contradicted)s = (id IN (SELECT id FROM contradicted)))
), page AS (
    SELECT * FROM filtered ORDER BY adherence_percent, id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT json_build_object(
    'stale', coalesce((SELECT json_agg(id ORDER BY id) FROM scored WHERE stale), '[]'::json),
    'total', (SELECT count(*) FROM filtered),
    'rows', coalesce(
        (SELECT json_agg(json_build_object(
                    'patient_treatment_plan_id', page.id,
                    'patient', json_build_object('id', page.patient_id, 'name', page.patient_name),
                    'treatment_plan', json_build_object('id', page.treatment_plan_id, 'name', v.name, 'type', v.type),
                    'assigned_by_specialist_id', page.assigned_by_specialist_id,
                    'week_start', page.week_start,
                    'week', w.report->'week',
                    'summary', w.report->'summary',
                    'days', w.report->'days',
                    'sessions_verified', e.verified,
                    'sessions_contradicted', e.contradicted)
                ORDER BY page.adherence_percent, page.id)
         FROM page
         JOIN treatment_plan_versions v ON v.id = page.treatment_plan_version_id
         LEFT JOIN weekly_adherence_reports w ON w.id = page.report_id
         CROSS JOIN LATERAL weekly_report_evidence(w.report) e),
        '[]'::json))::text

-- name: trend
-- An enrollment's stored weekly series, by week; one row with null weeks when nothing is stored yet, and
-- no row at all when the enrollment does not exist or is not the caller's to see. The verified and
-- contradicted sessions are the evidence states now of the sessions that decided each stored week's
-- completed slots.
SELECT ptp.id AS patient_treatment_plan_id, w.week_start, w.week_number, w.adherence_percent,
       w.noncompliance_percent, w.computed_at >= w.closes_at AS final, w.computed_at,
       e.verified AS sessions_verified, e.contradicted AS sessions_contradicted
FROM patient_treatment_plans ptp
LEFT JOIN weekly_adherence_reports w ON w.patient_treatment_plan_id = ptp.id
CROSS JOIN LATERAL weekly_report_evidence(w.report) e
WHERE ptp.id = %(id)s
ORDER BY w.week_start

-- name: insert_alerts
-- Record each alert unless its enrollment already has one of this kind for the week, in one statement for
-- any number of them (parallel arrays, in order); returns the rows inserted (the caller then writes the
-- outbox event of each).
INSERT INTO adherence_alerts (organization_id, patient_id, patient_treatment_plan_id, kind, week_start, evidence)
SELECT ptp.organization_id, ptp.patient_id, ptp.id, a.kind, a.week_start, a.evidence::jsonb
FROM unnest(%(id)b::bigint[], %(kind)b::text[], %(week_start)b::date[], %(evidence)b::text[])
     WITH ORDINALITY AS a (id, kind, week_start, evidence, position)
JOIN patient_treatment_plans ptp ON ptp.id = a.id
ORDER BY a.position
ON CONFLICT (patient_treatment_plan_id, kind, week_start) DO NOTHING
RETURNING id, organization_id, patient_treatment_plan_id, kind, week_start, evidence

-- name: completion_pain
-- A completed session's pain after it, its plan's start and the patient's zone, and the enrollment's
-- previous completed session that recorded a pain level after it.
SELECT c.id, c.patient_treatment_plan_id, c.pain_level_after, c.started_at, ptp.start_date, pa.time_zone,
       prev.id AS previous_id, prev.pain_level_after AS previous_pain_level_after
FROM patient_session_completions c
JOIN patient_treatment_plans ptp ON ptp.id = c.patient_treatment_plan_id
JOIN patients pa ON pa.id = c.patient_id
LEFT JOIN LATERAL (
    SELECT p.id, p.pain_level_after
    FROM patient_session_completions p
    WHERE p.patient_treatment_plan_id = c.patient_treatment_plan_id
      AND p.status = 'completed' AND p.pain_level_after IS NOT NULL AND p.id <> c.id
      AND (p.completed_at, p.id) < (c.completed_at, c.id)
    ORDER BY p.completed_at DESC, p.id DESC
    LIMIT 1
) prev ON true
WHERE c.id = %(id)s AND c.status = 'completed'

-- name: lock_organization_settings
SELECT adherence_threshold_percent, evidence_min_watch_percent, evidence_rep_tolerance
FROM organizations WHERE id = app_organization_id() FOR UPDATE

-- name: read_organization_settings
SELECT adherence_threshold_percent, evidence_min_watch_percent, evidence_rep_tolerance
FROM organizations WHERE id = app_organization_id()

-- name: update_organization_settings
-- A null evidence threshold leaves it as it is.
UPDATE organizations
SET adherence_threshold_percent = %(adherence_threshold_percent)s,
    evidence_min_watch_percent = coalesce(%(evidence_min_watch_percent)s, evidence_min_watch_percent),
    evidence_rep_tolerance = coalesce(%(evidence_rep_tolerance)s, evidence_rep_tolerance)
WHERE id = app_organization_id()
RETURNING adherence_threshold_percent, evidence_min_watch_percent, evidence_rep_tolerance

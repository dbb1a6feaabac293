-- Verified adherence: queueing a completed session's evidence and storing what telemetry measured.
-- Every statement runs with one organization's tenant set (row-level security); only organizations_due
-- looks across them, through evidence_organizations_due() (migration 0020).

-- Queueing, in the completion's transaction -------------------------------------------------------------

-- name: expect_log_evidence
-- Each log of the completed session gets the state its consent and skip decide (rules.expected_state,
-- given for a skipped and a done exercise); the states come back for the completion's own.
UPDATE patient_exercise_logs
SET evidence_state = CASE WHEN skipped THEN %(skipped_state)s ELSE %(done_state)s END
WHERE session_completion_id = %(completion_id)s
RETURNING evidence_state

-- name: queue_collection
-- The completion's state and the pose consent at completion; a pending one gets its collection, due after
-- the settle delay.
WITH completion AS (
    UPDATE patient_session_completions
    SET evidence_state = %(state)s, evidence_pose_allowed = %(pose_allowed)s
    WHERE id = %(completion_id)s
    RETURNING organization_id, patient_id
)
INSERT INTO evidence_collections (organization_id, patient_id, session_completion_id, due_at)
SELECT organization_id, patient_id, %(completion_id)s, now() + make_interval(secs => %(settle_seconds)s)
FROM completion
WHERE %(state)s::text = 'pending'
ON CONFLICT (session_completion_id) DO NOTHING

-- Collecting, in the dispatcher ----------------------------------------------------------------------------

-- name: organizations_due
SELECT organization_id FROM evidence_organizations_due() AS due (organization_id) ORDER BY 1

-- name: claim_due
-- Due collections nobody holds, oldest first, each leased to this dispatcher; SKIP LOCKED lets several
-- dispatchers claim different ones at once.
WITH due AS (
    SELECT id
    FROM evidence_collections
    WHERE due_at <= now() AND (leased_until IS NULL OR leased_until <= now())
    ORDER BY due_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE evidence_collections ec
SET leased_until = now() + make_interval(secs => %(lease_seconds)s)
FROM due
WHERE ec.id = due.id
RETURNING ec.id, ec.session_completion_id, ec.leased_until

-- name: claimed_completions
-- What a collection needs of each claimed completion: its patient, consent at completion, state, and the
-- plan week it belongs to (for the alert); with the organization's thresholds.
SELECT c.id, c.patient_id, c.patient_treatment_plan_id, c.evidence_state,
       coalesce(c.evidence_pose_allowed, false) AS pose_allowed, c.started_at, ptp.start_date, pa.time_zone,
       o.evidence_min_watch_percent, o.evidence_rep_tolerance
FROM patient_session_completions c
JOIN patient_treatment_plans ptp ON ptp.id = c.patient_treatment_plan_id
JOIN patients pa ON pa.id = c.patient_id
JOIN organizations o ON o.id = c.organization_id
WHERE c.id = ANY(%(ids)s::bigint[])
ORDER BY c.id

-- name: claimed_logs
-- The logs of the claimed completions that evidence is collected for (every one but not_collected), with
-- what the app reported.
SELECT l.id, l.session_completion_id, l.telemetry_session_id, l.skipped, l.video_watched,
       l.video_watch_percentage::float8 AS video_watch_percentage, l.actual_sets, l.actual_reps
FROM patient_exercise_logs l
WHERE l.session_completion_id = ANY(%(ids)s::bigint[])
  AND l.evidence_state IS DISTINCT FROM 'not_collected'
ORDER BY l.session_completion_id, l.sort_order

-- name: store_log_evidence
-- The figures of a batch of logs, overwritten (a refresh replaces the first collection's), in one
-- statement (parallel arrays).
UPDATE patient_exercise_logs l
SET evidence_state = v.state,
    measured_watch_percentage = v.watch_percentage,
    measured_reps = v.reps,
    mean_form_score = v.form_score,
    evidence = v.evidence::jsonb,
    evidence_collected_at = now()
FROM unnest(%(id)b::bigint[], %(state)b::text[], %(watch_percentage)b::float8[], %(reps)b::int[],
            %(form_score)b::float8[], %(evidence)b::text[])
     AS v (id, state, watch_percentage, reps, form_score, evidence)
WHERE l.id = v.id

-- name: store_completion_states
UPDATE patient_session_completions c
SET evidence_state = v.state
FROM unnest(%(id)b::bigint[], %(state)b::text[]) AS v (id, state)
WHERE c.id = v.id

-- name: finish_collections
-- After a collection: a first one is kept for its one refresh; a refresh is done with. Only rows this claim
-- still holds (its lease end): one taken over by another dispatcher is that one's to finish.
WITH refreshed AS (
    DELETE FROM evidence_collections
    WHERE id = ANY(%(ids)s::bigint[]) AND leased_until = %(leased_until)s AND collections_done >= 1
)
UPDATE evidence_collections
SET collections_done = 1, attempts = 0, last_error = NULL, leased_until = NULL,
    due_at = now() + make_interval(secs => %(refresh_seconds)s)
WHERE id = ANY(%(ids)s::bigint[]) AND leased_until = %(leased_until)s AND collections_done = 0

-- name: fail_collections
-- Telemetry could not answer: one more attempt, due again after an exponential back-off (base × 2^attempts
-- before this one, capped, with a fifth of jitter either way), the row otherwise as it was.
UPDATE evidence_collections
SET attempts = attempts + 1,
    due_at = now() + make_interval(secs => least(%(backoff_max_seconds)s::float8,
                                                 %(backoff_base_seconds)s::float8 * 2 ^ least(attempts, 30))
                                           * (0.8 + 0.4 * random())),
    leased_until = NULL,
    last_error = left(%(error)s, 200)
WHERE id = ANY(%(ids)s::bigint[]) AND leased_until = %(leased_until)s

-- Nightly ------------------------------------------------------------------------------------------------

-- name: requeue_stale
-- Completions still pending a day after they were completed: their collection is due now (a new one if
-- none is left), whatever back-off it was in. Never for a patient whose erasure was requested: the request
-- deleted their collections, and telemetry is about to forget them.
INSERT INTO evidence_collections (organization_id, patient_id, session_completion_id, due_at)
SELECT c.organization_id, c.patient_id, c.id, now()
FROM patient_session_completions c
WHERE c.evidence_state = 'pending' AND c.completed_at < now() - interval '1 day'
  AND NOT EXISTS (SELECT 1 FROM patient_erasures e WHERE e.patient_id = c.patient_id)
ON CONFLICT (session_completion_id) DO UPDATE SET due_at = now(), leased_until = NULL
RETURNING id

-- Verified adherence (issue #21): each exercise log gets the telemetry session id the patient's app sends
-- that exercise's media events and pose frames under, and the figures telemetry measured for it, beside
-- what the app reported. docs/adherence.md, "Verified adherence", defines the states.

-- Logs written before this migration get an id nobody used, so no telemetry matches them; their
-- evidence_state stays NULL ("before verification existed") and no collection is queued for them.
ALTER TABLE patient_exercise_logs
    ADD COLUMN telemetry_session_id uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN evidence_state text
        CHECK (evidence_state IN ('pending', 'verified', 'partial', 'contradicted', 'not_collected')),
    ADD COLUMN measured_watch_percentage numeric(5, 2) CHECK (measured_watch_percentage BETWEEN 0 AND 100),
    ADD COLUMN measured_reps integer CHECK (measured_reps BETWEEN 0 AND 10000),
    -- 0-100 like pose_accuracy_score (telemetry's form_score is 0-1).
    ADD COLUMN mean_form_score numeric(5, 2) CHECK (mean_form_score BETWEEN 0 AND 100),
    -- Telemetry's whole answer for the session (contracts.session_evidence.SessionEvidence), for the
    -- figures without a column of their own (milestones, buffering, ROM, low-visibility frames).
    ADD COLUMN evidence jsonb,
    ADD COLUMN evidence_collected_at timestamptz;
CREATE UNIQUE INDEX patient_exercise_logs_telemetry_session_key ON patient_exercise_logs (telemetry_session_id);

-- A completion's state over its logs (the rule is in core_api/evidence/rules.py); NULL as above.
-- evidence_pose_allowed: the patient's consent at completion allowed pose evidence (biometric consent and
-- analytics level 2+), which the collection needs later whatever the consent is by then; NULL as above.
ALTER TABLE patient_session_completions
    ADD COLUMN evidence_state text
        CHECK (evidence_state IN ('pending', 'verified', 'partial', 'contradicted', 'not_collected')),
    ADD COLUMN evidence_pose_allowed boolean;

-- The organization's thresholds for "contradicted": a log that reports the video watched is contradicted
-- when the player measured less than evidence_min_watch_percent of it; a log whose reported repetitions
-- differ from those the pose tracker counted by more than evidence_rep_tolerance is contradicted.
ALTER TABLE organizations
    ADD COLUMN evidence_min_watch_percent smallint NOT NULL DEFAULT 50
        CHECK (evidence_min_watch_percent BETWEEN 0 AND 100),
    ADD COLUMN evidence_rep_tolerance smallint NOT NULL DEFAULT 2
        CHECK (evidence_rep_tolerance BETWEEN 0 AND 1000);

-- The collections still to do, an outbox written in the completion's transaction: one row per completed
-- session, due after the settle delay; the dispatcher claims due rows in batches (one telemetry call per
-- batch), backs off while telemetry is unreachable, and after the first collection keeps the row for one
-- later refresh (frames that arrived after the settle delay). The nightly job queues what is still pending.
CREATE TABLE evidence_collections (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    patient_id bigint NOT NULL REFERENCES patients (id),
    session_completion_id bigint NOT NULL REFERENCES patient_session_completions (id) ON DELETE CASCADE,
    due_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    collections_done integer NOT NULL DEFAULT 0 CHECK (collections_done >= 0),
    leased_until timestamptz,
    last_error text CHECK (length(last_error) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_completion_id)
);
CREATE INDEX evidence_collections_due_idx ON evidence_collections (organization_id, due_at);
-- The nightly job's look for completions still pending (requeue_stale in core_api/evidence/queries.sql).
CREATE INDEX patient_session_completions_evidence_pending_idx ON patient_session_completions (completed_at)
    WHERE evidence_state = 'pending';
-- The organization adherence page's has_contradicted filter: the contradicted sessions started around a week
-- (organization_week in core_api/adherence/queries.sql).
CREATE INDEX patient_session_completions_contradicted_idx ON patient_session_completions (started_at)
    WHERE evidence_state = 'contradicted';
ALTER TABLE evidence_collections ENABLE ROW LEVEL SECURITY;
ALTER TABLE evidence_collections FORCE ROW LEVEL SECURITY;
CREATE POLICY evidence_collections_tenant ON evidence_collections
    USING (organization_id = app_organization_id() AND app_may_see_patient(patient_id))
    WITH CHECK (organization_id = app_organization_id() AND app_may_see_patient(patient_id));

-- The dispatcher runs as the app role, one organization at a time; this function (run as the owner role,
-- through the read-only policy below, like automation_organizations_with_work in 0007) tells it which
-- organizations have a collection due, and nothing else.
CREATE POLICY evidence_collections_dispatch_scan ON evidence_collections FOR SELECT TO CURRENT_USER USING (true);
CREATE FUNCTION evidence_organizations_due() RETURNS SETOF bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
        SELECT DISTINCT organization_id FROM evidence_collections
        WHERE due_at <= now() AND (leased_until IS NULL OR leased_until <= now())
    $$;
REVOKE ALL ON FUNCTION evidence_organizations_due() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION evidence_organizations_due() TO rehab_app;

-- A collection that turns a completion contradicted raises an alert, at most once per enrollment and plan
-- week like the other kinds (core_api/evidence/alerts.py).
ALTER TABLE adherence_alerts DROP CONSTRAINT adherence_alerts_kind_check,
    ADD CONSTRAINT adherence_alerts_kind_check CHECK (kind IN ('below_threshold', 'pain', 'evidence_contradicted'));

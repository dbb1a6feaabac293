-- Session execution: a patient doing one session of an enrollment (patient_session_completions), one log
-- per prescribed exercise (patient_exercise_logs) and the post-session questionnaire it opens
-- (form_instances). Every row is patient-owned: the organization's staff see it, a patient only their own.

CREATE TABLE patient_session_completions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    patient_id bigint NOT NULL REFERENCES patients (id),
    patient_treatment_plan_id bigint NOT NULL REFERENCES patient_treatment_plans (id),
    session_number integer NOT NULL CHECK (session_number >= 1),
    status text NOT NULL DEFAULT 'in_progress' CHECK (status IN ('in_progress', 'completed', 'skipped')),
    started_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    skipped_at timestamptz,
    pain_level_before smallint CHECK (pain_level_before BETWEEN 0 AND 10),
    pain_level_after smallint CHECK (pain_level_after BETWEEN 0 AND 10),
    perceived_difficulty smallint CHECK (perceived_difficulty BETWEEN 1 AND 10),
    exercises_total integer NOT NULL CHECK (exercises_total BETWEEN 0 AND 1000),
    exercises_completed integer NOT NULL DEFAULT 0 CHECK (exercises_completed >= 0),
    exercises_skipped integer NOT NULL DEFAULT 0 CHECK (exercises_skipped >= 0),
    duration_seconds integer CHECK (duration_seconds >= 0),
    notes text CHECK (length(notes) <= 5000),
    skip_reason text CHECK (length(skip_reason) <= 1000),
    post_session_form_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (exercises_completed + exercises_skipped <= exercises_total),
    CHECK (status <> 'completed' OR (completed_at IS NOT NULL AND duration_seconds IS NOT NULL)),
    CHECK (status <> 'skipped' OR skipped_at IS NOT NULL)
);
-- At most one session in progress per enrollment: the backstop of the idempotent start (the service
-- already serialises starts on the enrollment row).
CREATE UNIQUE INDEX patient_session_completions_one_in_progress
    ON patient_session_completions (patient_treatment_plan_id) WHERE status = 'in_progress';
-- "Patient progress over time": an enrollment's completed sessions by completion time; also the
-- rotation and the sessions done this week.
CREATE INDEX patient_session_completions_completed_idx
    ON patient_session_completions (patient_treatment_plan_id, completed_at) WHERE status = 'completed';
-- "Adherence rate per week": an enrollment's sessions by start time.
CREATE INDEX patient_session_completions_started_idx
    ON patient_session_completions (patient_treatment_plan_id, started_at);
CREATE INDEX patient_session_completions_patient_idx ON patient_session_completions (patient_id, started_at);

CREATE TABLE patient_exercise_logs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    patient_id bigint NOT NULL REFERENCES patients (id),
    session_completion_id bigint NOT NULL REFERENCES patient_session_completions (id),
    exercise_id uuid NOT NULL REFERENCES exercises (id),
    sort_order integer NOT NULL CHECK (sort_order >= 0),
    -- The prescription, copied from the enrollment's frozen plan version when the session starts.
    prescribed_mode text NOT NULL CHECK (prescribed_mode IN ('reps', 'duration')),
    prescribed_sets smallint NOT NULL CHECK (prescribed_sets BETWEEN 1 AND 100),
    prescribed_reps smallint CHECK (prescribed_reps BETWEEN 1 AND 1000),
    prescribed_hold_seconds integer CHECK (prescribed_hold_seconds BETWEEN 1 AND 3600),
    prescribed_duration_seconds integer CHECK (prescribed_duration_seconds BETWEEN 1 AND 86400),
    rest_between_sets_seconds integer CHECK (rest_between_sets_seconds BETWEEN 0 AND 3600),
    rest_after_exercise_seconds integer CHECK (rest_after_exercise_seconds BETWEEN 0 AND 3600),
    notes text CHECK (length(notes) <= 5000),
    -- What the patient did. The bounds are sanity limits (the API enforces the same), not clinical ones.
    actual_sets smallint CHECK (actual_sets BETWEEN 0 AND 100),
    actual_reps smallint CHECK (actual_reps BETWEEN 0 AND 1000),
    actual_hold_seconds integer CHECK (actual_hold_seconds BETWEEN 0 AND 3600),
    actual_duration_seconds integer CHECK (actual_duration_seconds BETWEEN 0 AND 86400),
    video_watched boolean NOT NULL DEFAULT false,
    video_watch_seconds integer CHECK (video_watch_seconds BETWEEN 0 AND 86400),
    video_watch_percentage numeric(5, 2) CHECK (video_watch_percentage BETWEEN 0 AND 100),
    pose_data_captured boolean NOT NULL DEFAULT false,
    -- A percentage (0-100, as the spec's 85.50), not a 0-1 ratio.
    pose_accuracy_score numeric(5, 2) CHECK (pose_accuracy_score BETWEEN 0 AND 100),
    skipped boolean NOT NULL DEFAULT false,
    skip_reason text CHECK (length(skip_reason) <= 1000),
    started_at timestamptz,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at),
    CHECK (skipped OR skip_reason IS NULL),
    UNIQUE (session_completion_id, sort_order)
);
CREATE INDEX patient_exercise_logs_exercise_idx ON patient_exercise_logs (exercise_id);
CREATE INDEX patient_exercise_logs_patient_idx ON patient_exercise_logs (patient_id);

-- A questionnaire given to a patient: here the post-session form of the plan, opened when a session
-- is completed and answered later.
CREATE TABLE form_instances (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    patient_id bigint NOT NULL REFERENCES patients (id),
    form_template_id bigint NOT NULL REFERENCES form_templates (id),
    session_completion_id bigint REFERENCES patient_session_completions (id),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'submitted')),
    responses jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    submitted_at timestamptz,
    CHECK (status <> 'submitted' OR submitted_at IS NOT NULL)
);
CREATE INDEX form_instances_patient_idx ON form_instances (patient_id, status);
CREATE UNIQUE INDEX form_instances_session_completion_key ON form_instances (session_completion_id)
    WHERE session_completion_id IS NOT NULL;

ALTER TABLE patient_session_completions
    ADD CONSTRAINT patient_session_completions_post_session_form_fkey
    FOREIGN KEY (post_session_form_id) REFERENCES form_instances (id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['patient_session_completions', 'patient_exercise_logs', 'form_instances'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY %I ON %I USING (organization_id = app_organization_id() AND app_may_see_patient(patient_id)) '
            'WITH CHECK (organization_id = app_organization_id() AND app_may_see_patient(patient_id))',
            t || '_tenant', t);
    END LOOP;
END
$$;

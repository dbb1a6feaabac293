-- The clinical data model for authoring treatment plans and enrolling patients in them.
--
-- Tenancy: every table carries organization_id. Reference data that may be global (specialties,
-- exercises, form templates, treatment plans and their children) allows organization_id IS NULL:
-- readable by every organization, writable only by platform admins. Every policy starts with
-- app_organization_id() IS NOT NULL, so a request that did not set its tenant sees and writes nothing.
-- Patient-owned rows also pass app_may_see_patient(), so a patient sees only their own.

-- Reference data ---------------------------------------------------------------------------------------

CREATE TABLE specialties (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint REFERENCES organizations (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE UNIQUE INDEX specialties_name_key ON specialties (coalesce(organization_id, 0), lower(name))
    WHERE deleted_at IS NULL;

CREATE TABLE specialists (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    user_id bigint UNIQUE REFERENCES users (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    specialty_id bigint REFERENCES specialties (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX specialists_organization_id_idx ON specialists (organization_id);

CREATE TABLE patients (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    user_id bigint UNIQUE REFERENCES users (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email text CHECK (email IS NULL OR length(email) <= 320),
    date_of_birth date,
    -- IANA zone name; the service validates it against the zone database before it is stored.
    time_zone text NOT NULL DEFAULT 'UTC' CHECK (time_zone ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX patients_organization_id_idx ON patients (organization_id);

CREATE TABLE exercises (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id bigint REFERENCES organizations (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    instructions text NOT NULL DEFAULT '' CHECK (length(instructions) <= 10000),
    video_url text CHECK (video_url IS NULL OR length(video_url) <= 2048),
    video_thumbnail_url text CHECK (video_thumbnail_url IS NULL OR length(video_thumbnail_url) <= 2048),
    difficulty text NOT NULL DEFAULT 'beginner' CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    estimated_duration_seconds integer CHECK (estimated_duration_seconds BETWEEN 1 AND 86400),
    published boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX exercises_organization_id_idx ON exercises (organization_id);

CREATE TABLE form_templates (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint REFERENCES organizations (id),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    kind text NOT NULL DEFAULT 'post_session' CHECK (kind IN ('post_session', 'consent', 'intake', 'other')),
    schema jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE service_plans (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    telerehab_access boolean NOT NULL DEFAULT false,
    library_access boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE patient_service_plans (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    patient_id bigint NOT NULL REFERENCES patients (id),
    service_plan_id bigint NOT NULL REFERENCES service_plans (id),
    -- Active from starts_on through ends_on (open-ended when NULL), unless cancelled.
    starts_on date NOT NULL,
    ends_on date CHECK (ends_on IS NULL OR ends_on >= starts_on),
    cancelled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patient_service_plans_patient_id_idx ON patient_service_plans (patient_id);

-- Treatment plans --------------------------------------------------------------------------------------

CREATE TABLE treatment_plans (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id bigint REFERENCES organizations (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    type text NOT NULL CHECK (type IN ('telerehab', 'in_clinic')),
    visibility text NOT NULL DEFAULT 'internal' CHECK (visibility IN ('internal', 'library')),
    condition_tags text[] NOT NULL DEFAULT '{}',
    created_from_id uuid REFERENCES treatment_plans (id),
    created_for_patient_id bigint REFERENCES patients (id),
    frequency_per_week smallint NOT NULL CHECK (frequency_per_week BETWEEN 1 AND 14),
    duration_weeks smallint NOT NULL CHECK (duration_weeks BETWEEN 1 AND 104),
    specialist_id bigint REFERENCES specialists (id),
    specialty_id bigint REFERENCES specialties (id),
    requires_approval boolean NOT NULL DEFAULT false,
    post_session_form_template_id bigint REFERENCES form_templates (id),
    service_plan_id bigint REFERENCES service_plans (id),
    status text NOT NULL DEFAULT 'draft' CHECK (status IN (
        'draft', 'pending_approval', 'active', 'paused', 'completed', 'cancelled', 'expired')),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    published boolean NOT NULL DEFAULT false,
    published_at timestamptz,
    created_by_user_id bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    -- A plan made for one patient belongs to that patient's organization.
    CHECK (created_for_patient_id IS NULL OR organization_id IS NOT NULL),
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A') || setweight(to_tsvector('english', description), 'B')
    ) STORED
);
-- Lists filter by organization and sort by creation time; q searches name and description.
CREATE INDEX treatment_plans_org_created_idx ON treatment_plans (organization_id, created_at DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX treatment_plans_search_idx ON treatment_plans USING gin (search);
CREATE INDEX treatment_plans_condition_tags_idx ON treatment_plans USING gin (condition_tags);

CREATE TABLE treatment_plan_sessions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint REFERENCES organizations (id),
    treatment_plan_id uuid NOT NULL REFERENCES treatment_plans (id) ON DELETE CASCADE,
    session_number integer NOT NULL CHECK (session_number >= 1),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    estimated_duration_minutes integer CHECK (estimated_duration_minutes BETWEEN 1 AND 600),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Deferrable so a reorder can swap numbers inside one transaction.
    CONSTRAINT treatment_plan_sessions_number_key UNIQUE (treatment_plan_id, session_number)
        DEFERRABLE INITIALLY IMMEDIATE
);

CREATE TABLE treatment_plan_session_exercises (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint REFERENCES organizations (id),
    session_id bigint NOT NULL REFERENCES treatment_plan_sessions (id) ON DELETE CASCADE,
    exercise_id uuid NOT NULL REFERENCES exercises (id),
    sort_order integer NOT NULL CHECK (sort_order >= 0),
    mode text NOT NULL CHECK (mode IN ('reps', 'duration')),
    sets smallint NOT NULL DEFAULT 1 CHECK (sets BETWEEN 1 AND 100),
    reps smallint CHECK (reps BETWEEN 1 AND 1000),
    hold_seconds integer CHECK (hold_seconds BETWEEN 1 AND 3600),
    duration_seconds integer CHECK (duration_seconds BETWEEN 1 AND 86400),
    rest_between_sets_seconds integer CHECK (rest_between_sets_seconds BETWEEN 0 AND 3600),
    rest_after_exercise_seconds integer CHECK (rest_after_exercise_seconds BETWEEN 0 AND 3600),
    notes text CHECK (length(notes) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT session_exercises_reps_mode CHECK (mode <> 'reps' OR reps IS NOT NULL),
    CONSTRAINT session_exercises_duration_mode
        CHECK (mode <> 'duration' OR hold_seconds IS NOT NULL OR duration_seconds IS NOT NULL),
    CONSTRAINT treatment_plan_session_exercises_order_key UNIQUE (session_id, sort_order)
        DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX session_exercises_exercise_id_idx ON treatment_plan_session_exercises (exercise_id);

-- One row per published version: the full plan, its sessions and exercises as they were, so an
-- enrollment keeps following the version it was assigned whatever happens to the plan later.
CREATE TABLE treatment_plan_versions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint REFERENCES organizations (id),
    treatment_plan_id uuid NOT NULL REFERENCES treatment_plans (id),
    version integer NOT NULL CHECK (version >= 1),
    name text NOT NULL,
    type text NOT NULL,
    frequency_per_week smallint NOT NULL,
    duration_weeks smallint NOT NULL,
    sessions_count integer NOT NULL,
    snapshot jsonb NOT NULL,
    created_by_user_id bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (treatment_plan_id, version)
);

-- Enrollments (patient_treatment_plans): a patient following one frozen version of a plan.
CREATE TABLE patient_treatment_plans (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    patient_id bigint NOT NULL REFERENCES patients (id),
    treatment_plan_id uuid NOT NULL REFERENCES treatment_plans (id),
    treatment_plan_version_id bigint NOT NULL REFERENCES treatment_plan_versions (id),
    treatment_plan_version integer NOT NULL,
    patient_service_plan_id bigint REFERENCES patient_service_plans (id),
    assigned_by_specialist_id bigint REFERENCES specialists (id),
    self_assigned boolean NOT NULL DEFAULT false,
    start_date date NOT NULL,
    end_date date NOT NULL CHECK (end_date > start_date),
    frequency_per_week smallint NOT NULL,
    sessions_total integer NOT NULL CHECK (sessions_total >= 1),
    sessions_completed integer NOT NULL DEFAULT 0 CHECK (sessions_completed >= 0),
    sessions_skipped integer NOT NULL DEFAULT 0 CHECK (sessions_skipped >= 0),
    status text NOT NULL CHECK (status IN (
        'pending_approval', 'active', 'paused', 'completed', 'cancelled', 'expired')),
    approved_at timestamptz,
    approved_by_user_id bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patient_treatment_plans_patient_idx ON patient_treatment_plans (patient_id, status);
CREATE INDEX patient_treatment_plans_plan_idx ON patient_treatment_plans (treatment_plan_id);

-- Automation triggers (treatment_plan.assigned, ...), written in the transaction of the change that
-- fires them; a dispatcher delivers them later (the outbox pattern).
CREATE TABLE automation_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    event_type text NOT NULL CHECK (event_type ~ '^[a-z_]+(\.[a-z_]+)+$'),
    entity_type text NOT NULL,
    entity_id text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz
);
CREATE INDEX automation_events_pending_idx ON automation_events (created_at) WHERE dispatched_at IS NULL;

-- Every mutation, in the transaction that made it. Append-only for the app role.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    actor_user_id bigint,
    actor_role text NOT NULL,
    action text NOT NULL,
    entity_type text NOT NULL,
    entity_id text NOT NULL,
    before jsonb,
    after jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, created_at);
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM rehab_app;

-- Row-level security ------------------------------------------------------------------------------------

-- Org-only tables: the organization's own rows, nothing else.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['specialists', 'service_plans', 'automation_events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY %I ON %I USING (organization_id = app_organization_id()) '
            'WITH CHECK (organization_id = app_organization_id())', t || '_tenant', t);
    END LOOP;
END
$$;

-- Patient-owned tables: the organization's rows, and for a patient only their own.
DO $$
DECLARE
    t text;
    patient_column text;
BEGIN
    FOREACH t IN ARRAY ARRAY['patients', 'patient_service_plans', 'patient_treatment_plans'] LOOP
        patient_column := CASE t WHEN 'patients' THEN 'id' ELSE 'patient_id' END;
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY %I ON %I USING (organization_id = app_organization_id() AND app_may_see_patient(%I)) '
            'WITH CHECK (organization_id = app_organization_id() AND app_may_see_patient(%I))',
            t || '_tenant', t, patient_column, patient_column);
    END LOOP;
END
$$;

-- Tables with global rows: read own and global; write own, or global as a platform admin.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['specialties', 'exercises', 'form_templates', 'treatment_plans',
                             'treatment_plan_sessions', 'treatment_plan_session_exercises',
                             'treatment_plan_versions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY %I ON %I FOR SELECT USING (app_organization_id() IS NOT NULL '
            'AND (organization_id IS NULL OR organization_id = app_organization_id()))', t || '_read', t);
        EXECUTE format(
            'CREATE POLICY %I ON %I FOR INSERT WITH CHECK (app_organization_id() IS NOT NULL '
            'AND (organization_id = app_organization_id() OR (organization_id IS NULL AND app_is_platform_admin())))',
            t || '_insert', t);
        EXECUTE format(
            'CREATE POLICY %I ON %I FOR UPDATE USING (app_organization_id() IS NOT NULL '
            'AND (organization_id = app_organization_id() OR (organization_id IS NULL AND app_is_platform_admin()))) '
            'WITH CHECK (app_organization_id() IS NOT NULL '
            'AND (organization_id = app_organization_id() OR (organization_id IS NULL AND app_is_platform_admin())))',
            t || '_update', t);
        EXECUTE format(
            'CREATE POLICY %I ON %I FOR DELETE USING (app_organization_id() IS NOT NULL '
            'AND (organization_id = app_organization_id() OR (organization_id IS NULL AND app_is_platform_admin())))',
            t || '_delete', t);
    END LOOP;
END
$$;

-- The audit log: written and read within the organization, never changed.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT USING (organization_id = app_organization_id());
CREATE POLICY audit_log_insert ON audit_log FOR INSERT WITH CHECK (organization_id = app_organization_id());

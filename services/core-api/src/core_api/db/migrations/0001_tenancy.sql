-- Tenancy: the session settings row-level security reads, privileges for the app role, and the first
-- organization-owned tables. Every org-owned table enables and FORCES row-level security, and every
-- policy compares with app_organization_id(), which is NULL (so every comparison fails: deny) when the
-- request did not set the tenant.

CREATE FUNCTION app_organization_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.organization_id', true), '')::bigint $$;

CREATE FUNCTION app_user_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.user_id', true), '')::bigint $$;

CREATE FUNCTION app_role() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.role', true), '') $$;

-- The patient the request acts for when the actor is a patient; NULL for staff.
CREATE FUNCTION app_patient_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.patient_id', true), '')::bigint $$;

-- Platform administrators may write global rows (organization_id IS NULL); nobody else can.
CREATE FUNCTION app_is_platform_admin() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(nullif(current_setting('app.platform_admin', true), '')::boolean, false) $$;

-- A patient sees only rows about themself; staff see every row of their organization.
CREATE FUNCTION app_may_see_patient(patient bigint) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT app_role() IS DISTINCT FROM 'patient' OR patient = app_patient_id() $$;

GRANT USAGE ON SCHEMA public TO rehab_app;
GRANT EXECUTE ON FUNCTION app_organization_id(), app_user_id(), app_role(), app_patient_id(),
    app_is_platform_admin(), app_may_see_patient(bigint) TO rehab_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO rehab_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO rehab_app;

CREATE TABLE organizations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    time_zone text NOT NULL DEFAULT 'UTC',
    adherence_threshold_percent smallint NOT NULL DEFAULT 80
        CHECK (adherence_threshold_percent BETWEEN 0 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY organizations_own ON organizations
    USING (id = app_organization_id())
    WITH CHECK (id = app_organization_id());

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    role text NOT NULL CHECK (role IN ('admin', 'specialist', 'patient')),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    email text CHECK (email IS NULL OR length(email) <= 320),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX users_organization_id_idx ON users (organization_id);
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_tenant ON users
    USING (organization_id = app_organization_id())
    WITH CHECK (organization_id = app_organization_id());

-- GDPR erasure. A request is a row here; from that moment the patient is invisible to every request and
-- report (app_may_see_patient below), and the retention job later strips their identity and, once the
-- clinical retention period has passed, deletes their clinical records. See docs/privacy.md.
CREATE TABLE patient_erasures (
    patient_id bigint PRIMARY KEY REFERENCES patients (id),
    organization_id bigint NOT NULL REFERENCES organizations (id),
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by_user_id bigint,
    requested_by_role text NOT NULL,
    identity_erased_at timestamptz,
    telemetry_erased_at timestamptz,
    clinical_deleted_at timestamptz
);
ALTER TABLE patient_erasures ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_erasures FORCE ROW LEVEL SECURITY;
-- Tenant only: the patient-row helper below reads this table, so its policy must not call that helper.
CREATE POLICY patient_erasures_tenant ON patient_erasures
    USING (organization_id = app_organization_id())
    WITH CHECK (organization_id = app_organization_id());
REVOKE UPDATE, DELETE, TRUNCATE ON patient_erasures FROM rehab_app;

-- Every patient-owned table's policy calls this: an erased patient's rows are invisible (and unwritable)
-- to every role but the jobs' role ``system``. A plain SQL function, so the planner inlines it; the
-- uncorrelated ``<> ALL`` becomes a hashed subplan, read once per statement, so a scan of thousands of
-- rows pays one hash lookup per row, not one index probe.
CREATE OR REPLACE FUNCTION app_may_see_patient(patient bigint) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT (app_role() IS DISTINCT FROM 'patient' OR patient = app_patient_id())
           AND (app_role() = 'system' OR patient <> ALL (SELECT e.patient_id FROM patient_erasures e))
    $$;

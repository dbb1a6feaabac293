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

-- Every patient-owned table's policy (the ones calling app_may_see_patient) also hides an erased patient's
-- rows, and refuses writes for them, for every role but the jobs' role ``system``. The check sits in the
-- policies themselves, not in app_may_see_patient: a SQL function with a subquery is never inlined and
-- would run once per row, while ``NOT IN (SELECT ...)`` in a policy becomes a hashed subplan, read once per
-- statement.
DO $$
DECLARE
    policy record;
    patient_column text;
    condition text;
BEGIN
    FOR policy IN
        SELECT tablename, policyname FROM pg_policies
        WHERE schemaname = 'public' AND qual LIKE '%app_may_see_patient%'
    LOOP
        patient_column := CASE policy.tablename WHEN 'patients' THEN 'id' ELSE 'patient_id' END;
        condition := format(
            'organization_id = app_organization_id() AND app_may_see_patient(%1$I) '
            'AND (app_role() = ''system'' OR %1$I NOT IN (SELECT e.patient_id FROM patient_erasures e))',
            patient_column);
        EXECUTE format('ALTER POLICY %I ON %I USING (%s) WITH CHECK (%s)',
                       policy.policyname, policy.tablename, condition, condition);
    END LOOP;
END
$$;

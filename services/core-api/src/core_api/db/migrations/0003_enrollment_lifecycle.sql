-- The enrollment lifecycle: one history row per status change of a patient_treatment_plan, with the
-- reason given for it, and what the expiry job needs to find every organization.

-- Append-only: a row is written in the transaction of the change it records (approve, status change,
-- expiry) and never updated. changed_by_user_id is NULL when the system made the change (expiry).
CREATE TABLE patient_treatment_plan_status_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    patient_id bigint NOT NULL REFERENCES patients (id),
    patient_treatment_plan_id bigint NOT NULL REFERENCES patient_treatment_plans (id),
    from_status text NOT NULL CHECK (from_status IN (
        'pending_approval', 'active', 'paused', 'completed', 'cancelled', 'expired')),
    to_status text NOT NULL CHECK (to_status IN (
        'pending_approval', 'active', 'paused', 'completed', 'cancelled', 'expired')),
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    changed_by_user_id bigint REFERENCES users (id),
    changed_by_role text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (from_status <> to_status)
);
CREATE INDEX patient_treatment_plan_status_changes_enrollment_idx
    ON patient_treatment_plan_status_changes (patient_treatment_plan_id, id);
REVOKE UPDATE, DELETE, TRUNCATE ON patient_treatment_plan_status_changes FROM rehab_app;

ALTER TABLE patient_treatment_plan_status_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_treatment_plan_status_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY patient_treatment_plan_status_changes_tenant ON patient_treatment_plan_status_changes
    USING (organization_id = app_organization_id() AND app_may_see_patient(patient_id))
    WITH CHECK (organization_id = app_organization_id() AND app_may_see_patient(patient_id));

-- The expiry job runs once per organization with that tenant set. To find the organizations it runs as
-- the owner role (this migration's CURRENT_USER), which may list them; the app role still sees only its
-- own organization.
CREATE POLICY organizations_listed_for_jobs ON organizations FOR SELECT TO CURRENT_USER USING (true);

-- The expiry scan: enrollments that can still expire, by end date.
CREATE INDEX patient_treatment_plans_expiry_idx ON patient_treatment_plans (end_date)
    WHERE status IN ('active', 'paused');

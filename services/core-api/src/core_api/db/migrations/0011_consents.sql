-- Consent records: a patient's analytics level (0-3) and biometric consent, one row per change (the
-- current state is the newest row of each kind), granted by the patient or recorded by staff with the
-- consent form as evidence. See docs/privacy.md.
CREATE TABLE patient_consents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    patient_id bigint NOT NULL REFERENCES patients (id),
    kind text NOT NULL CHECK (kind IN ('analytics', 'biometric')),
    analytics_level smallint CHECK (analytics_level BETWEEN 0 AND 3),
    granted boolean NOT NULL,
    form_instance_id bigint REFERENCES form_instances (id),
    reason text CHECK (reason IS NULL OR length(reason) <= 500),
    recorded_by_user_id bigint REFERENCES users (id),
    recorded_by_role text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'analytics') = (analytics_level IS NOT NULL)),
    CHECK (kind <> 'analytics' OR granted = (analytics_level > 0))
);
CREATE INDEX patient_consents_current_idx ON patient_consents (patient_id, kind, id DESC);

ALTER TABLE patient_consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_consents FORCE ROW LEVEL SECURITY;
CREATE POLICY patient_consents_tenant ON patient_consents
    USING (organization_id = app_organization_id() AND app_may_see_patient(patient_id))
    WITH CHECK (organization_id = app_organization_id() AND app_may_see_patient(patient_id));

-- The history is append-only for the app role.
REVOKE UPDATE, DELETE, TRUNCATE ON patient_consents FROM rehab_app;

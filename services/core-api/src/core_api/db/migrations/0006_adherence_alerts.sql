-- Adherence and pain alerts: at most one of each kind per enrollment per plan week.
--
-- recompute_weekly (core_api/domain/adherence/service.py), the nightly roll-forward job and session
-- completion insert a row with ON CONFLICT DO NOTHING; only the insert that creates the row writes the
-- outbox event (adherence.below_threshold, pain.alert), so a week never alerts twice for one kind. The
-- evidence is the event's payload. See docs/adherence.md.

CREATE TABLE adherence_alerts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    patient_id bigint NOT NULL REFERENCES patients (id),
    patient_treatment_plan_id bigint NOT NULL REFERENCES patient_treatment_plans (id),
    kind text NOT NULL CHECK (kind IN ('below_threshold', 'pain')),
    -- The plan week's first local day (start_date + 7k).
    week_start date NOT NULL,
    evidence jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (patient_treatment_plan_id, kind, week_start)
);
-- History: the app role may add alerts, never change or delete them.
REVOKE UPDATE, DELETE, TRUNCATE ON adherence_alerts FROM rehab_app;

CREATE INDEX adherence_alerts_org_created_idx ON adherence_alerts (organization_id, created_at);

ALTER TABLE adherence_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE adherence_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY adherence_alerts_tenant ON adherence_alerts
    USING (organization_id = app_organization_id() AND app_may_see_patient(patient_id))
    WITH CHECK (organization_id = app_organization_id() AND app_may_see_patient(patient_id));

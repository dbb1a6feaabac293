-- Weekly adherence reports, kept as history: one row per enrollment per plan week.
--
-- A row is written by recompute_weekly (core_api/domain/adherence/service.py) while its week is current
-- and once more, to finalize it, by the first recompute after the week closed. A row whose computed_at
-- is at or after closes_at is final: the upsert never touches it again, so past weeks keep the numbers
-- they closed with, and trends and the effect of interventions can be measured. See docs/adherence.md.

CREATE TABLE weekly_adherence_reports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    patient_id bigint NOT NULL REFERENCES patients (id),
    patient_treatment_plan_id bigint NOT NULL REFERENCES patient_treatment_plans (id),
    -- The plan week's first local day (start_date + 7k) and its close (local midnight seven days later).
    week_start date NOT NULL,
    week_number integer NOT NULL CHECK (week_number >= 1),
    closes_at timestamptz NOT NULL,
    adherence_percent smallint NOT NULL CHECK (adherence_percent BETWEEN 0 AND 100),
    noncompliance_percent smallint NOT NULL CHECK (noncompliance_percent BETWEEN 0 AND 100),
    report jsonb NOT NULL,
    computed_at timestamptz NOT NULL,
    UNIQUE (patient_treatment_plan_id, week_start)
);
-- The organization's weekly page: one week's rows, lowest adherence first.
-- History: the app role may add and refresh rows, never delete them.
REVOKE DELETE, TRUNCATE ON weekly_adherence_reports FROM rehab_app;

CREATE INDEX weekly_adherence_reports_org_week_idx
    ON weekly_adherence_reports (organization_id, week_start, adherence_percent);

ALTER TABLE weekly_adherence_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE weekly_adherence_reports FORCE ROW LEVEL SECURITY;
CREATE POLICY weekly_adherence_reports_tenant ON weekly_adherence_reports
    USING (organization_id = app_organization_id() AND app_may_see_patient(patient_id))
    WITH CHECK (organization_id = app_organization_id() AND app_may_see_patient(patient_id));

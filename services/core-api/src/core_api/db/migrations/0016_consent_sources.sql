-- Who stated each consent decision: the patient in the app ('patient'), the patient by submitting a
-- consent form in the app ('consent_form'), staff entering the patient's signed paper consent form
-- ('paper_form'), or staff recording a decision ('staff'). The first three are the patient's own
-- statements; staff never record more than the latest of them grants. See docs/privacy.md.
ALTER TABLE patient_consents ADD COLUMN source text;

-- Existing rows: a patient's rows recorded by submitting a consent form, the patient's other rows, and
-- staff rows (staff-submitted forms included: they were not the patient's own statement). The owner is
-- subject to the forced row-level security like everyone, so it is lifted for this one update.
ALTER TABLE patient_consents NO FORCE ROW LEVEL SECURITY;
UPDATE patient_consents SET source = CASE
    WHEN recorded_by_role <> 'patient' THEN 'staff'
    WHEN form_instance_id IS NOT NULL AND reason = 'consent form submitted' THEN 'consent_form'
    ELSE 'patient'
END;
ALTER TABLE patient_consents FORCE ROW LEVEL SECURITY;

ALTER TABLE patient_consents
    ALTER COLUMN source SET NOT NULL,
    ADD CONSTRAINT patient_consents_source_check
        CHECK (source IN ('patient', 'consent_form', 'paper_form', 'staff'));

-- The patient's own statements, newest first: what every staff action is checked against.
CREATE INDEX patient_consents_own_idx ON patient_consents (patient_id, id DESC)
    WHERE source IN ('patient', 'consent_form', 'paper_form');

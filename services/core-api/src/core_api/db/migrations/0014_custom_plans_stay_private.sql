-- A custom plan (made for one patient, created_for_patient_id) is visible only to staff and to that
-- patient, whatever its visibility or status. Row-level security keeps the rule, so every route and join
-- through which a patient reaches a plan (library list, plan read, self-assign, enrollments) follows it.
ALTER POLICY treatment_plans_read ON treatment_plans USING (
    app_organization_id() IS NOT NULL
    AND (organization_id IS NULL OR organization_id = app_organization_id())
    AND (created_for_patient_id IS NULL OR app_may_see_patient(created_for_patient_id)));

-- The one definition of "in the patient library", used by the library list, the patient's plan read and
-- self-assign: published, visibility library, and not a custom plan (only promote turns a custom plan into
-- a library plan, and it clears created_for_patient_id).
CREATE FUNCTION treatment_plan_in_library(plan treatment_plans) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT plan.deleted_at IS NULL AND plan.published AND plan.visibility = 'library'
                 AND plan.created_for_patient_id IS NULL $$;
GRANT EXECUTE ON FUNCTION treatment_plan_in_library(treatment_plans) TO rehab_app;

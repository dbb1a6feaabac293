-- Enrollments (patient_treatment_plans). Patients see only their own rows through row-level security.

-- name: enrollment_json
SELECT json_build_object(
    'id', ptp.id,
    'patient', json_build_object('id', pa.id, 'name', pa.name),
    'treatment_plan', json_build_object('id', tp.id, 'name', v.name, 'type', v.type),
    'treatment_plan_version', ptp.treatment_plan_version,
    'assigned_by_specialist',
        CASE WHEN sp.id IS NULL THEN NULL ELSE json_build_object('id', sp.id, 'name', sp.name) END,
    'self_assigned', ptp.self_assigned,
    'start_date', ptp.start_date,
    'end_date', ptp.end_date,
    'frequency_per_week', ptp.frequency_per_week,
    'sessions_total', ptp.sessions_total,
    'sessions_completed', ptp.sessions_completed,
    'sessions_skipped', ptp.sessions_skipped,
    'completion_percentage', round(100.0 * ptp.sessions_completed / ptp.sessions_total, 2),
    'status', ptp.status,
    'approved_at', ptp.approved_at,
    'created_at', ptp.created_at
)::text
FROM patient_treatment_plans ptp
JOIN patients pa ON pa.id = ptp.patient_id
JOIN treatment_plans tp ON tp.id = ptp.treatment_plan_id
JOIN treatment_plan_versions v ON v.id = ptp.treatment_plan_version_id
LEFT JOIN specialists sp ON sp.id = ptp.assigned_by_specialist_id
WHERE ptp.id = %(id)s

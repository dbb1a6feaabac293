-- Automation rules and deliveries. Every statement runs with one organization's tenant set, so row-level
-- security keeps it inside that organization; only organizations_with_work looks across them (migration 0007).

-- name: insert_rule
INSERT INTO automation_rules (
    organization_id, event_type, action, webhook_url, signing_secret, form_template_id, enabled,
    created_by_user_id)
VALUES (app_organization_id(), %(event_type)s, %(action)s, %(webhook_url)s, %(signing_secret)s,
        %(form_template_id)s, %(enabled)s, app_user_id())
RETURNING id, event_type, action, webhook_url, form_template_id, enabled, created_at

-- name: lock_rules
-- Held to commit, so two concurrent creations cannot both pass the per-organization cap.
SELECT pg_advisory_xact_lock(hashtextextended('automation_rules:' || app_organization_id()::text, 0))

-- name: count_rules
SELECT count(*) FROM automation_rules WHERE deleted_at IS NULL

-- name: list_rules
SELECT id, event_type, action, webhook_url, form_template_id, enabled, created_at
FROM automation_rules
WHERE deleted_at IS NULL
ORDER BY id

-- name: get_rule
SELECT id, event_type, action, webhook_url, form_template_id, enabled, created_at
FROM automation_rules
WHERE id = %(id)s AND deleted_at IS NULL

-- name: set_rule_enabled
UPDATE automation_rules SET enabled = %(enabled)s WHERE id = %(id)s AND deleted_at IS NULL
RETURNING id, event_type, action, webhook_url, form_template_id, enabled, created_at

-- name: delete_rule
-- Soft delete: the row stays for the delivery history; the secret goes.
UPDATE automation_rules SET deleted_at = now(), enabled = false, signing_secret = NULL
WHERE id = %(id)s AND deleted_at IS NULL

-- name: cancel_stopped
-- Pending deliveries of disabled or deleted rules (one rule's, or every rule's when rule_id is NULL) that
-- are not being attempted right now; one in flight is cancelled by the dispatcher's next pass if it failed.
UPDATE automation_deliveries d
SET status = 'cancelled', leased_until = NULL
FROM automation_rules r
WHERE r.id = d.rule_id AND NOT r.enabled
  AND (%(rule_id)s::bigint IS NULL OR d.rule_id = %(rule_id)s)
  AND d.status = 'pending' AND (d.leased_until IS NULL OR d.leased_until <= now())

-- name: form_template_usable
-- The organization's own templates and the global ones, not deleted.
SELECT EXISTS (SELECT 1 FROM form_templates WHERE id = %(id)s AND deleted_at IS NULL)

-- name: list_deliveries
-- With %(id)s only that delivery (the other filters null).
WITH matched AS (
    SELECT d.id, d.event_id, e.event_type, e.entity_type, e.entity_id, d.rule_id, r.action, d.status,
           d.attempts, CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at,
           d.last_status_code, d.last_error, d.delivered_at, e.created_at AS event_created_at, d.created_at
    FROM automation_deliveries d
    JOIN automation_events e ON e.id = d.event_id
    JOIN automation_rules r ON r.id = d.rule_id
    WHERE (%(status)s::text IS NULL OR d.status = %(status)s)
      AND (%(rule_id)s::bigint IS NULL OR d.rule_id = %(rule_id)s)
      AND (%(event_type)s::text IS NULL OR e.event_type = %(event_type)s)
      AND (%(id)s::bigint IS NULL OR d.id = %(id)s)
)
SELECT (SELECT count(*) FROM matched) AS total,
       (SELECT coalesce(json_agg(to_json(page) ORDER BY page.id DESC), '[]'::json)
        FROM (SELECT * FROM matched ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s) page)::text AS items

-- name: requeue
-- A dead or cancelled delivery of an enabled rule, back to the queue with fresh attempts.
UPDATE automation_deliveries d
SET status = 'pending', attempts = 0, next_attempt_at = now(), leased_until = NULL
FROM automation_rules r
WHERE d.id = %(id)s AND d.status IN ('dead', 'cancelled') AND r.id = d.rule_id AND r.enabled

-- Dispatcher ---------------------------------------------------------------------------------------------

-- name: organizations_with_work
SELECT organization_id FROM automation_organizations_with_work() AS work (organization_id) ORDER BY 1

-- name: fan_out
-- One delivery per enabled rule that matches each new event, oldest events first; the events are then
-- marked dispatched. SKIP LOCKED lets two dispatchers fan out different events at once.
WITH new_events AS (
    SELECT id, organization_id, event_type, ordering_key
    FROM automation_events
    WHERE dispatched_at IS NULL
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), deliveries AS (
    INSERT INTO automation_deliveries (organization_id, event_id, rule_id, ordering_key)
    SELECT e.organization_id, e.id, r.id, e.ordering_key
    FROM new_events e
    JOIN automation_rules r ON r.organization_id = e.organization_id AND r.event_type = e.event_type AND r.enabled
    ORDER BY e.id, r.id
    ON CONFLICT (event_id, rule_id) DO NOTHING
)
UPDATE automation_events SET dispatched_at = now()
WHERE id IN (SELECT id FROM new_events)

-- name: expire_exhausted
-- Deliveries that used their last attempt without an outcome written (the dispatcher died or could not
-- record it) and whose lease has ended: dead, so the attempt cap holds whatever happened.
UPDATE automation_deliveries
SET status = 'dead', leased_until = NULL, last_status_code = NULL, last_error = 'attempt interrupted'
WHERE status = 'pending' AND attempts >= %(max_attempts)s AND (leased_until IS NULL OR leased_until <= now())

-- name: claim_due
-- Due deliveries of enabled rules with attempts left, whose lease (if any) has ended and that have no
-- earlier pending delivery of the same ordering key (enrollment) to the same destination (webhook URL, or
-- the built-in action): so a receiver gets one enrollment's events in event order whichever rules sent
-- them. Each gets a lease and an attempt.
WITH due AS (
    SELECT d.id
    FROM automation_deliveries d
    JOIN automation_rules r ON r.id = d.rule_id
    WHERE d.status = 'pending'
      AND r.enabled
      AND d.attempts < %(max_attempts)s
      AND d.next_attempt_at <= now()
      AND (d.leased_until IS NULL OR d.leased_until <= now())
      AND NOT EXISTS (
          SELECT 1
          FROM automation_deliveries earlier
          JOIN automation_rules earlier_rule ON earlier_rule.id = earlier.rule_id
          WHERE earlier.ordering_key = d.ordering_key
            AND earlier.status = 'pending'
            AND earlier.event_id < d.event_id
            AND coalesce(earlier_rule.webhook_url, earlier_rule.action) = coalesce(r.webhook_url, r.action))
    ORDER BY d.event_id, d.rule_id
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE automation_deliveries d
SET leased_until = now() + make_interval(secs => %(lease_seconds)s), attempts = d.attempts + 1
FROM due, automation_events e, automation_rules r
WHERE d.id = due.id AND e.id = d.event_id AND r.id = d.rule_id
RETURNING d.id, d.attempts, d.rule_id, r.action, r.webhook_url, r.signing_secret, r.form_template_id,
          e.id AS event_id, e.event_type, e.entity_type, e.entity_id, e.payload::text AS payload,
          e.created_at AS event_created_at

-- name: lock_claimed
-- The claimed delivery, if this dispatcher still holds it (still pending, with this attempt's number).
SELECT id FROM automation_deliveries
WHERE id = %(id)s AND status = 'pending' AND attempts = %(attempts)s
FOR UPDATE

-- name: mark_delivered
UPDATE automation_deliveries
SET status = 'delivered', delivered_at = now(), leased_until = NULL, last_status_code = %(status_code)s,
    last_error = NULL
WHERE id = %(id)s AND status = 'pending' AND attempts = %(attempts)s

-- name: mark_failed
-- Back to the queue after a backoff, or dead once the last attempt failed.
UPDATE automation_deliveries
SET status = CASE WHEN attempts >= %(max_attempts)s THEN 'dead' ELSE 'pending' END,
    next_attempt_at = now() + make_interval(secs => %(backoff_seconds)s),
    leased_until = NULL, last_status_code = %(status_code)s, last_error = left(%(error)s, 500)
WHERE id = %(id)s AND status = 'pending' AND attempts = %(attempts)s

-- name: event_patient
-- The patient an event is about: its enrollment's patient, or the patient it names; never an erased one.
SELECT p.id
FROM patients p
WHERE p.deleted_at IS NULL
  AND p.id = coalesce(
      (SELECT ptp.patient_id FROM patient_treatment_plans ptp
       WHERE ptp.id = (%(payload)s::jsonb ->> 'patient_treatment_plan_id')::bigint),
      (%(payload)s::jsonb ->> 'patient_id')::bigint)

-- name: give_form
INSERT INTO form_instances (organization_id, patient_id, form_template_id, automation_delivery_id)
VALUES (app_organization_id(), %(patient_id)s, %(form_template_id)s, %(delivery_id)s)
ON CONFLICT (automation_delivery_id) DO NOTHING
RETURNING id

-- Automations: the rules an organization configures, and one delivery per (event, matching rule) that the
-- dispatcher process (python -m core_api.dispatcher) works through. See docs/automations.md.

-- What to do when an event of ``event_type`` happens: POST it to a webhook (signed with the rule's
-- secret, Standard Webhooks scheme) or run a built-in action (require_form: give the patient a form).
CREATE TABLE automation_rules (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    event_type text NOT NULL CHECK (event_type ~ '^[a-z_]+(\.[a-z_]+)+$'),
    action text NOT NULL CHECK (action IN ('webhook', 'require_form')),
    webhook_url text CHECK (webhook_url IS NULL OR length(webhook_url) BETWEEN 1 AND 2048),
    signing_secret text,
    form_template_id bigint REFERENCES form_templates (id),
    enabled boolean NOT NULL DEFAULT true,
    created_by_user_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((action = 'webhook') = (webhook_url IS NOT NULL AND signing_secret IS NOT NULL)),
    CHECK ((action = 'require_form') = (form_template_id IS NOT NULL))
);
CREATE INDEX automation_rules_event_idx ON automation_rules (organization_id, event_type) WHERE enabled;

-- Deliveries keep order per enrollment: events about one enrollment (its session completions included)
-- share a key; other events are ordered per entity.
ALTER TABLE automation_events ADD COLUMN ordering_key text NOT NULL GENERATED ALWAYS AS (
    CASE WHEN payload ? 'patient_treatment_plan_id'
         THEN 'patient_treatment_plan:' || (payload ->> 'patient_treatment_plan_id')
         ELSE entity_type || ':' || entity_id END
) STORED;
COMMENT ON COLUMN automation_events.dispatched_at IS
    'when the dispatcher turned the event into one delivery per matching rule (NULL: not yet)';

-- pending → delivered, or → dead after the last attempt; an operator may send a dead one back to pending.
-- A claimed delivery carries a lease: a dispatcher that dies mid-delivery leaves it to the next one once
-- the lease ends (at-least-once).
CREATE TABLE automation_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    event_id bigint NOT NULL REFERENCES automation_events (id),
    rule_id bigint NOT NULL REFERENCES automation_rules (id),
    ordering_key text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_until timestamptz,
    last_status_code integer,
    last_error text CHECK (last_error IS NULL OR length(last_error) <= 500),
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, rule_id),
    CHECK (status <> 'delivered' OR delivered_at IS NOT NULL)
);
CREATE INDEX automation_deliveries_due_idx ON automation_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX automation_deliveries_order_idx ON automation_deliveries (rule_id, ordering_key, event_id)
    WHERE status = 'pending';
CREATE INDEX automation_deliveries_listing_idx ON automation_deliveries (organization_id, id);

-- The form a require_form delivery gave; unique, so a delivery never gives the same form twice.
ALTER TABLE form_instances ADD COLUMN automation_delivery_id bigint UNIQUE REFERENCES automation_deliveries (id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['automation_rules', 'automation_deliveries'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY %I ON %I USING (organization_id = app_organization_id()) '
            'WITH CHECK (organization_id = app_organization_id())', t || '_tenant', t);
    END LOOP;
END
$$;

-- The dispatcher runs as the app role and works one organization at a time with that tenant set. To learn
-- which organizations have work it calls this function, which runs as the owner role (this migration's
-- CURRENT_USER) and may read the outbox across organizations through the two read-only policies below;
-- the app role learns organization ids and nothing else.
CREATE POLICY automation_events_dispatch_scan ON automation_events FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY automation_deliveries_dispatch_scan ON automation_deliveries FOR SELECT TO CURRENT_USER USING (true);

CREATE FUNCTION automation_organizations_with_work() RETURNS SETOF bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
        SELECT organization_id FROM automation_events WHERE dispatched_at IS NULL
        UNION
        SELECT organization_id FROM automation_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
          AND (leased_until IS NULL OR leased_until <= now())
    $$;
REVOKE ALL ON FUNCTION automation_organizations_with_work() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION automation_organizations_with_work() TO rehab_app;

-- Rules can be deleted, and a disabled or deleted rule's deliveries that have not started are cancelled.
-- A deleted rule is kept (soft-deleted: deleted_at set, disabled, its signing secret erased) so the delivery
-- history that joins it stays readable; it is gone from the rule list and routes. See docs/automations.md.
ALTER TABLE automation_rules ADD COLUMN deleted_at timestamptz;
ALTER TABLE automation_rules DROP CONSTRAINT automation_rules_check;
ALTER TABLE automation_rules ADD CONSTRAINT automation_rules_webhook_check CHECK (
    (action = 'webhook') = (webhook_url IS NOT NULL AND (signing_secret IS NOT NULL OR deleted_at IS NOT NULL)));
ALTER TABLE automation_rules ADD CONSTRAINT automation_rules_deleted_check CHECK (
    deleted_at IS NULL OR (NOT enabled AND signing_secret IS NULL));

-- cancelled: its rule was disabled or deleted before the delivery succeeded or died.
ALTER TABLE automation_deliveries DROP CONSTRAINT automation_deliveries_status_check;
ALTER TABLE automation_deliveries ADD CONSTRAINT automation_deliveries_status_check
    CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled'));

-- Deliveries keep one enrollment's events in order per destination (webhook URL or built-in action)
-- rather than per rule: the claim looks for earlier pending deliveries by ordering key.
CREATE INDEX automation_deliveries_pending_key_idx ON automation_deliveries (ordering_key, event_id)
    WHERE status = 'pending';
DROP INDEX automation_deliveries_order_idx;

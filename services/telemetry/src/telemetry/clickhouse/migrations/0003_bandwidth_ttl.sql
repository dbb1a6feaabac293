-- Bandwidth samples are kept 90 days, the events that carry them two years: the network measurements of
-- a session_start (effective bandwidth, TTFB, RTT, CDN response time) are reset to their default 0, which
-- every read route treats as "not reported", once the row is 90 days old. Column TTLs do that on engines
-- with TTL (19.6+); on 18.16 `python -m telemetry.jobs.retention` clears these columns in whole monthly
-- partitions (ALTER TABLE ... CLEAR COLUMN ... IN PARTITION).

-- requires: ttl
ALTER TABLE media_events MODIFY COLUMN effective_bandwidth_mbps Float32 TTL received_at + INTERVAL 90 DAY;

-- requires: ttl
ALTER TABLE media_events MODIFY COLUMN ttfb_ms UInt32 TTL received_at + INTERVAL 90 DAY;

-- requires: ttl
ALTER TABLE media_events MODIFY COLUMN rtt_ms UInt32 TTL received_at + INTERVAL 90 DAY;

-- requires: ttl
ALTER TABLE media_events MODIFY COLUMN cdn_response_time_ms UInt32 TTL received_at + INTERVAL 90 DAY;

-- Analytics events, error reports and the ledger of idempotent batches. Same conventions as 0001:
-- keyed hashes instead of ids, received_at (the server's clock) drives partitions and retention,
-- country_code is the edge's ISO 3166-1 alpha-2 guess (never the IP address).

-- Product analytics, one row per event. properties are flat scalars kept as parallel arrays of keys and
-- JSON-encoded values (18.16 has no Map type): property_values[indexOf(property_keys, 'k')].
-- Sort key (org_hash, event_name, event_time) serves per-organization counts and rates of one event over
-- time (session completion rates, time-of-day and day-of-week usage, average session duration).
CREATE TABLE IF NOT EXISTS analytics_events (
    batch_id UUID,
    org_hash String,
    actor_hash String,
    event_name {lc_string},
    event_category {lc_string},
    event_time {timestamp_ms},
    received_at DateTime('UTC') DEFAULT now(),
    country_code {lc_string} COMMENT 'ISO 3166-1 alpha-2 from the edge, empty when unknown',
    resource_type {lc_string},
    resource_id String,
    property_keys Array(String),
    property_values Array(String) COMMENT 'JSON text of each value, matching property_keys by position'
) ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (org_hash, event_name, event_time);

-- requires: ttl
ALTER TABLE analytics_events MODIFY TTL received_at + INTERVAL 2 YEAR;

-- Client-side errors, the only telemetry allowed at consent level 1. message and stack are scrubbed of
-- e-mail addresses, tokens, IP addresses and long digit runs before they are stored.
-- Sort key (app_version, error_type, received_at) serves "which errors does this release raise, and
-- since when" (top errors per release, a regression's first occurrence).
CREATE TABLE IF NOT EXISTS error_reports (
    batch_id UUID,
    org_hash String,
    actor_hash String,
    error_type {lc_string},
    message String,
    stack String,
    app_version {lc_string},
    platform {lc_string},
    event_time {timestamp_ms},
    received_at DateTime('UTC') DEFAULT now(),
    country_code {lc_string} COMMENT 'ISO 3166-1 alpha-2 from the edge, empty when unknown'
) ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (app_version, error_type, received_at);

-- requires: ttl
ALTER TABLE error_reports MODIFY TTL received_at + INTERVAL 90 DAY;

-- One row per batch sent with an Idempotency-Key, written after its rows: a retry of a batch found here
-- is acknowledged without storing it again. Sort key batch_id serves that point lookup.
CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id UUID,
    endpoint {lc_string},
    row_count UInt32,
    received_at DateTime('UTC') DEFAULT now()
) ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY batch_id;

-- A retry comes within minutes; a week covers a device that was offline for days.
-- requires: ttl
ALTER TABLE ingest_batches MODIFY TTL received_at + INTERVAL 7 DAY;

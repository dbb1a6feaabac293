-- Media events as players emit them (docs/telemetry.md, "Video QoE"): play_intent is the playback request
-- before the first frame (CTA-2066), error a player error before or after it. Adding Enum8 values is a
-- metadata-only change on every engine; existing rows keep their values.
ALTER TABLE media_events MODIFY COLUMN event Enum8('session_start' = 1, 'heartbeat' = 2, 'buffering_start' = 3,
    'buffering_end' = 4, 'quality_change' = 5, 'milestone' = 6, 'session_end' = 7, 'play_intent' = 8,
    'error' = 9);

-- error: the player's code and whether playback stopped because of it (a playback failure). A plain ADD
-- COLUMN (18.16 has no IF NOT EXISTS): a run that stopped after it leaves the column, and the next run
-- skips an ADD COLUMN whose column exists (migrate.py).
ALTER TABLE media_events ADD COLUMN error_code String, ADD COLUMN fatal UInt8;

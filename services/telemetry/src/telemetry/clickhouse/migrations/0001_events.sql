-- The raw event tables. Rows carry keyed hashes of the organization and the actor, never a patient id,
-- name or email. received_at is the server's clock: retention (TTL) and partitions use it, so a device
-- with a wrong clock cannot keep data past its retention or scatter it over old partitions.
-- Macros: {timestamp_ms} is DateTime64(3, 'UTC') where the engine has it, else DateTime('UTC');
-- {lc_string} is LowCardinality(String) where it needs no experimental setting, else String.
-- A statement after "-- requires: ttl" runs only on engines with TTL (19.6+).
-- batch_id names the request a row came in with (from its Idempotency-Key when it sent one), so a
-- retried batch can be recognised and counted once (see docs/telemetry.md).

-- Video and audio playback lifecycle, one row per event.
-- Sort key (org_hash, media_id, session_id, event_time) serves per-exercise-video aggregates (watch %,
-- milestones, quality) within an organization and per-view QoE, which reads one session's events in order.
CREATE TABLE IF NOT EXISTS media_events (
    batch_id UUID,
    org_hash String,
    actor_hash String,
    session_id UUID,
    media_id String,
    media_type Enum8('video' = 1, 'audio' = 2),
    event Enum8('session_start' = 1, 'heartbeat' = 2, 'buffering_start' = 3, 'buffering_end' = 4,
                'quality_change' = 5, 'milestone' = 6, 'session_end' = 7),
    event_time {timestamp_ms},
    received_at DateTime('UTC') DEFAULT now(),
    country_code {lc_string} COMMENT 'ISO 3166-1 alpha-2 from the edge, empty when unknown',
    connection_type {lc_string},
    cdn {lc_string},
    position_seconds Float32,
    watched_duration_seconds Float32,
    completion_percent Float32,
    total_duration_seconds Float32,
    ttfb_ms UInt32,
    video_load_time_ms UInt32,
    cdn_response_time_ms UInt32,
    effective_bandwidth_mbps Float32,
    rtt_ms UInt32,
    buffering_count UInt32,
    buffering_duration_ms UInt32,
    bitrate UInt32 COMMENT 'current bitrate, or the new one on quality_change',
    resolution {lc_string} COMMENT 'current resolution, or the new one on quality_change',
    previous_bitrate UInt32,
    previous_resolution {lc_string},
    dropped_frames UInt32,
    total_frames UInt32,
    milestone_percent UInt8,
    completed UInt8,
    reason {lc_string} COMMENT 'quality_change: abr, user or network; session_end: the exit reason'
) ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (org_hash, media_id, session_id, event_time);

-- requires: ttl
ALTER TABLE media_events MODIFY TTL received_at + INTERVAL 2 YEAR;

-- MediaPipe pose frames, one row per frame; landmarks as parallel arrays (up to 33 each).
-- Sort key (org_hash, session_id, frame_number) serves per-session form-score and ROM trends and rep
-- counts, which read one session's frames in order.
CREATE TABLE IF NOT EXISTS pose_tracking_frames (
    batch_id UUID,
    org_hash String,
    actor_hash String,
    session_id UUID,
    media_id String,
    received_at DateTime('UTC') DEFAULT now(),
    frame_number UInt32,
    elapsed_ms UInt32,
    landmark_x Array(Float32),
    landmark_y Array(Float32),
    landmark_z Array(Float32),
    landmark_visibility Array(Float32),
    pose_confidence Float32,
    landmarks_detected UInt8,
    rep_count UInt16,
    form_score Nullable(Float32) COMMENT 'NULL when no body was in view',
    rom_degrees Nullable(Float32),
    active_exercise_phase {lc_string},
    camera_resolution {lc_string},
    processing_time_ms Float32
) ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (org_hash, session_id, frame_number);

-- requires: ttl
ALTER TABLE pose_tracking_frames MODIFY TTL received_at + INTERVAL 6 MONTH;

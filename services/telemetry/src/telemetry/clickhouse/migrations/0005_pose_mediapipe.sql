-- Pose frames as MediaPipe gives them: per-landmark presence, world landmarks in metres (the joint angles of
-- the per-repetition range of motion in pose/queries.py are computed from them), the device's form issue
-- codes, and pose_confidence, which MediaPipe does not output, becomes Nullable. Empty arrays mean "not
-- sent"; rows written before this migration read as empty arrays and keep their pose_confidence.
-- Plain ADD COLUMN (18.16 has no IF NOT EXISTS): a re-run after an interruption skips the columns that exist
-- (migrate.py), and MODIFY COLUMN to the type the column already has changes nothing.
ALTER TABLE pose_tracking_frames
    ADD COLUMN landmark_presence Array(Float32) AFTER landmark_visibility,
    ADD COLUMN world_landmark_x Array(Float32) AFTER landmark_presence,
    ADD COLUMN world_landmark_y Array(Float32) AFTER world_landmark_x,
    ADD COLUMN world_landmark_z Array(Float32) AFTER world_landmark_y,
    ADD COLUMN form_issues Array(String) AFTER rom_degrees,
    MODIFY COLUMN pose_confidence Nullable(Float32);

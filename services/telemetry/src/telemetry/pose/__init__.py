"""Pose tracking: ``POST /v1/pose/frames`` into ``pose_tracking_frames``, and the staff read routes over the
frames (per-session form, range of motion, reps and device capability; form issues per exercise)."""

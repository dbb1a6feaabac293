"""Read routes over the pose frames: per-session form, range of motion, reps and device capability."""

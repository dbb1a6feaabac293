"""Read routes over the media events: per-view QoE and bandwidth statistics for staff."""

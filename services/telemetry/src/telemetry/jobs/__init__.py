"""Scheduled jobs of the telemetry service, each run as ``python -m telemetry.jobs.<name>``."""

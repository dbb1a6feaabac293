"""Scheduled jobs of core-api, each runnable as ``python -m core_api.jobs.<name>``."""

"""The patient's time zone, the frame of every window, week and streak in core-api."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def patient_zone(name: str) -> ZoneInfo:
    """The stored zone; UTC when this server's zone database does not know it (new patients are validated
    against it, so only rows written elsewhere can miss)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")

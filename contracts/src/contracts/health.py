"""Liveness and readiness bodies, shared so probes and dashboards parse both services alike."""

from typing import Literal

import msgspec


class Health(msgspec.Struct, frozen=True):
    """Liveness: the process answers. It checks no dependency, so a database outage cannot restart pods."""

    status: Literal["ok"] = "ok"


class Readiness(msgspec.Struct, frozen=True):
    """Readiness: whether this instance should receive traffic, with one entry per dependency checked."""

    status: Literal["ready", "unavailable"]
    # Dependency name to a short state ("ok" or the failure class); never a connection string.
    checks: dict[str, str]

"""Liveness and readiness bodies, shared so probes and dashboards parse both services alike."""

from typing import Annotated, Literal

import msgspec
from msgspec import Meta


class Health(msgspec.Struct, frozen=True):
    """Liveness: the process answers. It checks no dependency, so a database outage cannot restart pods."""

    status: Annotated[Literal["ok"], Meta(description="Always `ok`.")] = "ok"


class Readiness(msgspec.Struct, frozen=True):
    """Readiness: whether this instance should receive traffic, with one entry per dependency checked."""

    status: Annotated[
        Literal["ready", "unavailable"],
        Meta(description="`ready`: send traffic; `unavailable`: a dependency failed."),
    ]
    checks: Annotated[
        dict[str, str],
        Meta(description="Dependency name to its state: `ok` or the failure class; never a connection string."),
    ]

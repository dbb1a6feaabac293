"""The answer to an actor's erasure from telemetry (``DELETE /v1/actors/{actor_hash}``)."""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.types import (
    HashedId,
)


class ActorErasure(msgspec.Struct, frozen=True, kw_only=True):
    """``DELETE /v1/actors/{actor_hash}``: the tables whose rows of the hash are being deleted (ClickHouse
    mutations, completed in the background)."""

    actor_hash: Annotated[
        HashedId,
        Meta(description="The erased actor's keyed hash (the `sub` of their telemetry tokens)."),
    ]
    tables: Annotated[list[str], Meta(description="The ClickHouse tables whose rows of the actor are being deleted.")]

"""The answer to an accepted telemetry ingest request: rows stored, their batch, and the items refused."""

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from contracts.types import (
    NonNegativeInt,
)

# Acknowledgement --------------------------------------------------------------------------------------


class RejectedItem(msgspec.Struct, frozen=True, kw_only=True):
    """An item of a batch that was not stored, and why (docs/telemetry.md, "Partial batches")."""

    index: Annotated[
        NonNegativeInt,
        Meta(description="Position of the item in the array sent, counted from 0."),
    ]
    field: Annotated[
        str,
        Meta(
            description=(
                "The value at fault as a path from the body's root, as the validator names it: "
                "`[3].data.completion_percent`, `frames[7].landmark_x`, `media_events[1].event`; the item "
                "itself (`frames[7]`) when the fault is between its fields (landmark arrays of unequal lengths)."
            )
        ),
    ]
    reason: Annotated[str, Meta(description="What is wrong with the value (`Expected `float` <= 100.0`).")]


class IngestAck(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an accepted ingest request (202): what was stored under which batch, and which items of
    the batch were not."""

    accepted: Annotated[
        NonNegativeInt,
        Meta(description="Rows stored by this request; 0 when ``duplicate``."),
    ]
    batch_id: Annotated[
        UUID,
        Meta(description="The batch the rows carry; derived from the ``Idempotency-Key`` header when one was sent."),
    ]
    duplicate: Annotated[
        bool,
        Meta(
            description=(
                "True when a batch with the same ``Idempotency-Key`` was already stored, so nothing was stored again."
            )
        ),
    ] = False
    rejected: Annotated[
        list[RejectedItem],
        Meta(
            description=(
                "Items of the batch not stored because a value broke the contract, in order; empty when every "
                "item was stored. Send them again corrected under a new ``Idempotency-Key``: a retry with the "
                "same key stores nothing."
            )
        ),
    ] = msgspec.field(default_factory=list)
    coerced: Annotated[
        dict[str, int],
        Meta(
            description=(
                "Values stored as a documented substitute, counted per field path within an item "
                "(`data.connection_type`: an unknown connection type stored as `other`); docs/telemetry.md "
                "lists the rules."
            )
        ),
    ] = msgspec.field(default_factory=dict)
    dropped: Annotated[
        dict[str, int],
        Meta(
            description=(
                "Optional values out of their bounds stored as null, counted per field path within an item "
                "(`data.effective_bandwidth`: an estimate above 100 000 Mbit/s, most likely sent in bit/s)."
            )
        ),
    ] = msgspec.field(default_factory=dict)

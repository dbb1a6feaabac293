"""The audit log's hash chain: what verifying one organization's chain found (docs/audit.md)."""

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.types import IntId, NonNegativeInt

# A SHA-256 digest in lowercase hex.
_Sha256Hex = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]


class ChainBreak(StrEnum):
    """Why a row is not a valid link of the chain.

    - ``missing_rows``: its ``chain_seq`` skips positions: rows before it were deleted.
    - ``previous_hash_mismatch``: it does not name the previous row's hash.
    - ``row_hash_mismatch``: its content is not what its hash covers: it was edited.
    - ``payload_hash_mismatch``: its before/after is not what it was: it was edited.
    """

    MISSING_ROWS = "missing_rows"
    PREVIOUS_HASH_MISMATCH = "previous_hash_mismatch"
    ROW_HASH_MISMATCH = "row_hash_mismatch"
    PAYLOAD_HASH_MISMATCH = "payload_hash_mismatch"


class AuditChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """The walk of one organization's audit chain, oldest row first, up to the first broken link."""

    organization_id: Annotated[IntId, Meta(description="The organization whose chain was walked.")]
    ok: Annotated[bool, Meta(description="Whether every row checked is a valid link.")]
    rows_checked: Annotated[NonNegativeInt, Meta(description="Rows walked, up to and including the first broken one.")]
    payloads_erased: Annotated[
        NonNegativeInt,
        Meta(
            description=(
                "Rows whose before/after were erased (GDPR, docs/audit.md): still links of the chain, content gone."
            )
        ),
    ] = 0
    head_seq: Annotated[
        NonNegativeInt,
        Meta(
            description=(
                "`chain_seq` of the last valid row reached: what to anchor outside the database (0 for an empty chain)."
            )
        ),
    ] = 0
    head_hash: Annotated[
        _Sha256Hex | None,
        Meta(description="Row hash (SHA-256, lowercase hex) of the last valid row reached; null for an empty chain."),
    ] = None
    first_broken_id: Annotated[
        IntId | None,
        Meta(description="Id of the first row that is not a valid link; null when `ok`."),
    ] = None
    first_broken_seq: Annotated[
        IntId | None,
        Meta(description="`chain_seq` of the first broken row; null when `ok`."),
    ] = None
    reason: Annotated[
        ChainBreak | None,
        Meta(description="Why that row is broken (see ChainBreak); null when `ok`."),
    ] = None
    expected_hash: Annotated[
        _Sha256Hex | None,
        Meta(
            description="For a hash mismatch: the hash the row should carry (SHA-256, lowercase hex); null otherwise."
        ),
    ] = None
    stored_hash: Annotated[
        _Sha256Hex | None,
        Meta(description="For a hash mismatch: the hash the row carries; null otherwise."),
    ] = None

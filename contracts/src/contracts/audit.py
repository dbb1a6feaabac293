"""The audit log's hash chain: what verifying one organization's chain found (docs/audit.md)."""

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.types import IntId

_Count = Annotated[int, Meta(ge=0)]
# A SHA-256 digest in lowercase hex.
_Sha256Hex = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]


class ChainBreak(StrEnum):
    """Why a row is not a valid link of the chain."""

    MISSING_ROWS = "missing_rows"  # its chain_seq skips positions: rows before it were deleted
    PREVIOUS_HASH_MISMATCH = "previous_hash_mismatch"  # it does not name the previous row's hash
    ROW_HASH_MISMATCH = "row_hash_mismatch"  # its content is not what its hash covers: it was edited
    PAYLOAD_HASH_MISMATCH = "payload_hash_mismatch"  # its before/after is not what it was: it was edited


class AuditChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """The walk of one organization's audit chain, oldest row first, up to the first broken link."""

    organization_id: IntId
    ok: bool
    rows_checked: _Count
    # Rows whose before/after were erased (GDPR, docs/audit.md): still links of the chain, content gone.
    payloads_erased: _Count = 0
    # The last valid row reached: what to anchor outside the database (docs/audit.md).
    head_seq: _Count = 0
    head_hash: _Sha256Hex | None = None
    first_broken_id: IntId | None = None
    first_broken_seq: IntId | None = None
    reason: ChainBreak | None = None
    # For a hash mismatch: the hash the row should carry, and the one it does.
    expected_hash: _Sha256Hex | None = None
    stored_hash: _Sha256Hex | None = None

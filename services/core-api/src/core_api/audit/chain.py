"""Walk one organization's audit chain and recompute every link, independently of the stored hashes.

Migration 0010 chains ``audit_log`` per organization: ``chain_seq`` counts 1, 2, 3, ... without gaps,
``previous_hash`` is the previous row's ``row_hash`` (32 zero bytes for the first row),
``row_hash = sha256(previous_hash || canonical(row))``, and ``canonical`` covers ``before`` and ``after``
through ``payload_hash``, their digest, so that an erased payload (GDPR) leaves the chain verifiable.
:func:`canonical` and :func:`payload_hash` build those bytes here in Python from the row's columns, so the
check trusts nothing the database computed: a row edited without recomputing its hash fails its own check,
a row whose hash was recomputed breaks its successor's ``previous_hash``, and a deleted row leaves a gap
in ``chain_seq``. The walk reads fixed-size batches
by ``chain_seq`` (keyset pagination on the unique index), so memory stays bounded on any chain length.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.audit import AuditChainReport, ChainBreak
from psycopg import AsyncConnection

GENESIS = bytes(32)
VERSION_TAG = b"audit_log/v1"
DEFAULT_BATCH_SIZE = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# jsonb as PostgreSQL's text of the stored (normalized) value: the exact text the trigger hashed.
CHAIN_BATCH = b"""
SELECT id, organization_id, chain_seq, actor_user_id, actor_role, action, entity_type, entity_id, patient_id,
       before::text, after::text, created_at, payload_hash, payload_erased_at, previous_hash, row_hash
FROM audit_log
WHERE organization_id = %(organization_id)s AND chain_seq > %(after_seq)s
ORDER BY chain_seq
LIMIT %(limit)s
"""


@dataclass(frozen=True, slots=True)
class ChainRow:
    id: int
    organization_id: int
    chain_seq: int
    actor_user_id: int | None
    actor_role: str
    action: str
    entity_type: str
    entity_id: str
    patient_id: int | None
    before: str | None
    after: str | None
    created_at: datetime
    payload_hash: bytes
    payload_erased_at: datetime | None
    previous_hash: bytes
    row_hash: bytes


def _field(value: str | None) -> bytes:
    if value is None:
        return b"-"
    data = value.encode()
    return str(len(data)).encode() + b":" + data


def _integer(value: int | None) -> str | None:
    return None if value is None else str(value)


def canonical(row: ChainRow) -> bytes:
    """The bytes ``row_hash`` covers after ``previous_hash``, as ``audit_log_canonical()`` builds them."""
    return VERSION_TAG + b"".join(
        _field(value)
        for value in (
            str(row.organization_id),
            str(row.chain_seq),
            str(row.id),
            _integer(row.actor_user_id),
            row.actor_role,
            row.action,
            row.entity_type,
            row.entity_id,
            _integer(row.patient_id),
            row.payload_hash.hex(),
            str((row.created_at - _EPOCH) // _MICROSECOND),
        )
    )


def payload_hash(row: ChainRow) -> bytes:
    """The digest of ``before`` and ``after`` as ``audit_payload_hash()`` computes it."""
    return hashlib.sha256(_field(row.before) + _field(row.after)).digest()


def row_hash(previous_hash: bytes, row: ChainRow) -> bytes:
    """The hash ``row`` must carry when it follows a row whose hash is ``previous_hash``."""
    return hashlib.sha256(previous_hash + canonical(row)).digest()


async def verify_chain(
    conn: AsyncConnection, organization_id: int, batch_size: int = DEFAULT_BATCH_SIZE
) -> AuditChainReport:
    """Check ``organization_id``'s chain from its first row; stop at and report the first broken link.

    ``conn`` must see the organization's audit rows (its tenant set, or a role that bypasses RLS)."""
    previous = GENESIS
    expected_seq = 1
    checked = 0
    erased = 0
    while True:
        cursor = await conn.execute(
            CHAIN_BATCH, {"organization_id": organization_id, "after_seq": expected_seq - 1, "limit": batch_size}
        )
        rows = [ChainRow(*values) for values in await cursor.fetchall()]
        for row in rows:
            checked += 1
            broken = _check(row, previous, expected_seq)
            if broken is not None:
                reason, expected, stored = broken
                return AuditChainReport(
                    organization_id=organization_id,
                    ok=False,
                    rows_checked=checked,
                    payloads_erased=erased,
                    head_seq=expected_seq - 1,
                    head_hash=None if expected_seq == 1 else previous.hex(),
                    first_broken_id=row.id,
                    first_broken_seq=row.chain_seq,
                    reason=reason,
                    expected_hash=expected,
                    stored_hash=stored,
                )
            previous = row.row_hash
            expected_seq += 1
            erased += row.payload_erased_at is not None
        if len(rows) < batch_size:
            break
    return AuditChainReport(
        organization_id=organization_id,
        ok=True,
        rows_checked=checked,
        payloads_erased=erased,
        head_seq=expected_seq - 1,
        head_hash=None if checked == 0 else previous.hex(),
    )


def _check(row: ChainRow, previous: bytes, expected_seq: int) -> tuple[ChainBreak, str | None, str | None] | None:
    if row.chain_seq != expected_seq:
        return ChainBreak.MISSING_ROWS, None, None
    if row.previous_hash != previous:
        return ChainBreak.PREVIOUS_HASH_MISMATCH, previous.hex(), _hex(row.previous_hash)
    expected = row_hash(previous, row)
    if row.row_hash != expected:
        return ChainBreak.ROW_HASH_MISMATCH, expected.hex(), _hex(row.row_hash)
    # An erased payload cannot be checked, only seen to be gone; any other must match its digest.
    if row.payload_erased_at is None or row.before is not None or row.after is not None:
        expected = payload_hash(row)
        if row.payload_hash != expected:
            return ChainBreak.PAYLOAD_HASH_MISMATCH, expected.hex(), _hex(row.payload_hash)
    return None


def _hex(value: bytes) -> str | None:
    # A stored hash of the wrong length is reported as absent rather than breaking the response's format.
    return value.hex() if len(value) == len(GENESIS) else None

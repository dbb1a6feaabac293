"""The committed records the spool keeps in memory, so the flusher takes them without reading them back.

The spool hands over each group of records its committer made durable. They are kept while they stay
contiguous from the checkpoint on and within ``max_rows`` rows; past the limit, new records are not kept
until the flusher has taken all kept ones, and the spool reads the others from its segment files until it
reaches the first record kept after that. Every use runs on the event loop.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from telemetry.spool.record import Position, ReadResult, SpoolRecord


@dataclass(frozen=True)
class _Kept:
    """A committed record kept in memory, with where it starts and ends in the spool."""

    start: Position
    end: Position
    record: SpoolRecord


class SpoolMemory:
    """Committed records from the checkpoint on, contiguous, in spool order; empty whenever some committed
    record after the checkpoint is only on disk (a replay, or more than ``max_rows`` rows)."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        """Most rows kept (0: the spool always reads back from disk)."""
        self._kept: deque[_Kept] = deque()
        self._rows = 0
        self._full = False

    def __bool__(self) -> bool:
        return bool(self._kept)

    def keep(self, start: Position, end: Position, group: list[tuple[int, SpoolRecord]]) -> None:
        """Keep a committed ``group`` of (framed size, record), written from ``start`` on; ``end`` is where
        the spool goes on after it (the next segment's start when the group filled its segment)."""
        rows = sum(record.rows for _, record in group)
        kept = self._kept
        if kept and (self._full or kept[-1].end != start or self._rows + rows > self.max_rows):
            self._full = True
            return
        self._full = False
        if rows > self.max_rows:
            return
        offset = start.offset
        for size, record in group:
            record_start = Position(start.segment, offset)
            offset += size
            kept.append(_Kept(record_start, Position(start.segment, offset), record))
        if end.segment != start.segment:
            # The group filled its segment and the next one began: reading on starts there.
            last = kept.pop()
            kept.append(_Kept(last.start, end, last.record))
        self._rows += rows

    def forget_before(self, checkpoint: Position) -> None:
        """Drop kept records ``checkpoint`` has passed."""
        kept = self._kept
        while kept and kept[0].end <= checkpoint:
            self._rows -= kept.popleft().record.rows

    def read(self, start: Position, max_rows: int) -> ReadResult | None:
        """Kept records from ``start`` until about ``max_rows`` rows (at least one record), as the spool's
        read would return them; None when the kept records do not start at ``start``."""
        kept = self._kept
        if not kept or kept[0].start != start:
            return None
        result = ReadResult(end=start)
        rows = 0
        for entry in kept:
            result.records.append(entry.record)
            result.end = entry.end
            rows += entry.record.rows
            if rows >= max_rows:
                break
        return result

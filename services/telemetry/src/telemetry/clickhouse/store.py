"""The one small interface telemetry uses to talk to ClickHouse, whichever engine is behind it.

Two implementations: :class:`~telemetry.clickhouse.server.ServerStore` (a ClickHouse server: native
protocol for columnar inserts, HTTP for async reads) and
:class:`~telemetry.clickhouse.embedded.EmbeddedStore` (the ClickHouse engine in-process through chdb, for
local runs). Both raise :class:`ClickHouseError` with the server's error code, never a driver exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

_CODE = re.compile(r"Code:\s*(\d+)")


class ClickHouseError(RuntimeError):
    """ClickHouse refused a statement or could not be reached; ``code`` is ClickHouse's error code."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code

    @classmethod
    def wrap(cls, exc: BaseException) -> ClickHouseError:
        """Translate a driver's exception, keeping the ClickHouse error code when it carries one."""
        code = getattr(exc, "code", None)
        if not isinstance(code, int):
            match = _CODE.search(str(exc))
            code = int(match.group(1)) if match else None
        return cls(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, code)


@dataclass(frozen=True)
class ServerFeatures:
    """What a ClickHouse version can do that 18.16, the oldest we support, cannot."""

    version: tuple[int, int]

    @classmethod
    def parse(cls, version: str) -> ServerFeatures:
        major, minor = (int(part) for part in version.split(".")[:2])
        return cls((major, minor))

    @property
    def ttl(self) -> bool:
        """Table TTL clauses (19.6)."""
        return self.version >= (19, 6)

    @property
    def datetime64(self) -> bool:
        """DateTime64 with sub-second precision (20.1)."""
        return self.version >= (20, 1)

    @property
    def low_cardinality(self) -> bool:
        """LowCardinality without ``allow_experimental_low_cardinality_type`` (19.1)."""
        return self.version >= (19, 1)

    @property
    def replicated_column_comments(self) -> bool:
        """Column ``COMMENT``s on a ReplicatedMergeTree table: 18.16 refuses to create one with them ("Table
        structure in ZooKeeper is too different from local table structure", make cluster-check). Newer
        releases accept them; from which one is a guess (only 18.16 runs here)."""
        return self.version >= (19, 1)

    @property
    def alter_distributed_on_cluster(self) -> bool:
        """``ALTER TABLE ... ON CLUSTER`` of a Distributed table when the cluster's shards replicate
        internally: 18.16 refuses it ("isn't replicated, but shard #1 is replicated according to its cluster
        definition", make cluster-check). Newer releases, the deployment's 24.8 among them, accept it; from
        which one is a guess (only 18.16 runs here)."""
        return self.version >= (20, 1)


class ClickHouseStore(Protocol):
    """Statements, reads and columnar inserts against one ClickHouse database."""

    backend: str
    database: str

    async def server_version(self) -> str:
        """The engine's version string, e.g. ``18.16.1`` or ``26.9.2.1``."""
        ...

    async def execute(self, statement: str) -> None:
        """Run one statement that returns no rows (DDL, ALTER, INSERT ... SELECT)."""
        ...

    async def select(self, query: str) -> list[dict[str, Any]]:
        """Run one query and return its rows as dicts of Python values."""
        ...

    async def select_values(self, query: str) -> list[Any]:
        """The first column of ``query``'s rows, over the connection that inserts: for the spool's own
        lookups, whose long ``IN`` lists the HTTP reader's query parser (sqlparse) takes far longer to read
        than ClickHouse takes to answer."""
        ...

    async def insert(self, table: str, columns: Mapping[str, Sequence[Any]]) -> int:
        """Insert column-oriented data (sequences of equal length) into ``table``; return the row count."""
        ...

    async def close(self) -> None:
        """Release connections and sessions."""
        ...


def row_count(columns: Mapping[str, Sequence[Any]]) -> int:
    """The number of rows in column-oriented data; raises when the columns differ in length."""
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns differ in length: {sorted(lengths)}")
    return lengths.pop() if lengths else 0

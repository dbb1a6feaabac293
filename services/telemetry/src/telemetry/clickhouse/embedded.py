"""The ClickHouse engine in-process through chdb, for local runs without a ClickHouse server.

chdb allows one session per process and its calls block, so every call runs in a worker thread under a
lock. Reads come back as Parquet, whose types convert to the same Python values (datetime, UUID, lists)
the server store's HTTP reads give (chdb's Arrow output turns DateTime into plain integers). Inserts
are encoded as JSONEachRow: chdb's Python() table function cannot take Array columns from plain lists.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pyarrow.parquet

from telemetry.clickhouse.sql import identifier
from telemetry.clickhouse.store import ClickHouseError, row_count

_json = msgspec.json.Encoder()


class EmbeddedStore:
    """:class:`~telemetry.clickhouse.store.ClickHouseStore` over chdb with data under ``data_dir``."""

    backend = "embedded"

    def __init__(self, data_dir: str, database: str) -> None:
        from chdb import session  # imported here: the wheel is large and only local runs need it

        Path(data_dir).mkdir(parents=True, exist_ok=True)
        # A plain str: the name is a value in queries (system.columns) as well as an identifier in DDL.
        self.database = str(identifier(database))
        self._session = session.Session(data_dir)
        self._lock = asyncio.Lock()
        self._session.query(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        self._session.query(f"USE {self.database}")

    async def _query(self, statement: str, fmt: str = "CSV") -> Any:
        async with self._lock:
            try:
                return await asyncio.to_thread(self._session.query, statement, fmt)
            except Exception as exc:
                raise ClickHouseError.wrap(exc) from exc

    async def server_version(self) -> str:
        rows = await self.select("SELECT version() AS version")
        return str(rows[0]["version"])

    async def execute(self, statement: str) -> None:
        await self._query(statement)

    async def select(self, query: str) -> list[dict[str, Any]]:
        result = await self._query(query, "Parquet")
        rows: list[dict[str, Any]] = pyarrow.parquet.read_table(io.BytesIO(result.bytes())).to_pylist()
        # Parquet carries String and Enum as binary; the server store's reads give str.
        return [
            {key: value.decode() if isinstance(value, bytes) else value for key, value in row.items()} for row in rows
        ]

    async def select_values(self, query: str) -> list[Any]:
        return [next(iter(row.values())) for row in await self.select(query)]

    async def insert(self, table: str, columns: Mapping[str, Sequence[Any]]) -> int:
        rows = row_count(columns)
        if rows == 0:
            return 0
        names = list(columns)
        body = b"\n".join(
            _json.encode(dict(zip(names, values, strict=True))) for values in zip(*columns.values(), strict=True)
        )
        statement = (
            f"INSERT INTO {identifier(table)} ({', '.join(identifier(n) for n in names)}) "
            "SETTINGS date_time_input_format = 'best_effort' FORMAT JSONEachRow\n"
        )
        await self._query(statement + body.decode())
        return rows

    async def close(self) -> None:
        async with self._lock:
            self._session.close()

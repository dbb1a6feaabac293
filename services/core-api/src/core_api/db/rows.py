"""Running a query and turning its rows into contract Structs.

Queries that build their response in SQL (``json_build_object``/``json_agg``, one round trip for a plan
with all its sessions and exercises) return one JSON text column, decoded straight into the Struct by
msgspec; plain rows are converted from dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from psycopg import AsyncConnection
from psycopg.rows import dict_row

T = TypeVar("T")

Params = Mapping[str, Any]


async def fetch_json(conn: AsyncConnection, query: bytes, params: Params, type_: type[T]) -> T | None:
    """The first column of the first row, a JSON text, decoded as ``type_``; ``None`` without a row."""
    row = await (await conn.execute(query, params)).fetchone()
    if row is None or row[0] is None:
        return None
    return msgspec.json.decode(row[0], type=type_)


async def fetch_one(conn: AsyncConnection, query: bytes, params: Params, type_: type[T]) -> T | None:
    """The first row converted to ``type_``; ``None`` without a row."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        row = await (await cursor.execute(query, params)).fetchone()
    return None if row is None else msgspec.convert(row, type_)


async def fetch_all(conn: AsyncConnection, query: bytes, params: Params, type_: type[T]) -> list[T]:
    """Every row converted to ``type_``."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        rows = await (await cursor.execute(query, params)).fetchall()
    return msgspec.convert(rows, list[type_])  # type: ignore[valid-type]


async def fetch_value(conn: AsyncConnection, query: bytes, params: Params) -> Any:
    """The first column of the first row, or ``None`` without a row."""
    row = await (await conn.execute(query, params)).fetchone()
    return None if row is None else row[0]


async def false_columns(conn: AsyncConnection, query: bytes, params: Params) -> list[str]:
    """The names of the columns of the query's one row that are false (checks written one per column)."""
    async with conn.cursor() as cursor:
        await cursor.execute(query, params)
        row = await cursor.fetchone()
        names = [column.name for column in cursor.description or ()]
    assert row is not None
    return [name for name, value in zip(names, row, strict=True) if not value]

"""A ClickHouse server: clickhouse-driver (native protocol) for columnar inserts and DDL, aiochclient
(HTTP) for async reads.

clickhouse-driver is synchronous and one ``Client`` holds one connection, so each blocking call runs in a
worker thread under a lock. Inserts are sent column by column (``columnar=True``), which is how the
native protocol lays data out, so no per-row Python objects are built.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiochclient import ChClient
from clickhouse_driver import Client

from telemetry.clickhouse.sql import identifier
from telemetry.clickhouse.store import ClickHouseError, row_count


class _SelectReader(ChClient):  # type: ignore[misc]
    """aiochclient's client for :meth:`ServerStore.select` only, which sends nothing but SELECTs without a
    FORMAT clause. aiochclient parses every query with sqlparse to learn its kind and format: for a
    500-session evidence query that was 0.5-0.7 s of the event loop (load 7-9), and sqlparse refuses queries
    of more than 10,000 tokens. The answer for a SELECT is known, so the parse is skipped."""

    @staticmethod
    def _parse_squery(query: str) -> tuple[bool, bool, str]:
        return True, False, "SELECT"


class ServerStore:
    """:class:`~telemetry.clickhouse.store.ClickHouseStore` over a ClickHouse server."""

    backend = "server"

    def __init__(self, url: str, http_url: str, database: str, query_timeout_seconds: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "clickhouse" or not parts.hostname:
            raise ValueError("CLICKHOUSE_URL must look like clickhouse://user:password@host:9000")
        # A plain str: the name is a value in queries (system.columns) as well as an identifier in DDL.
        self.database = str(identifier(database))
        self._host = parts.hostname
        self._port = parts.port or 9000
        self._user = parts.username or "default"
        self._password = parts.password or ""
        self._http_url = http_url or f"http://{parts.hostname}:8123/"
        self._timeout = query_timeout_seconds
        self._native: Client | None = None
        self._native_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(timeout=query_timeout_seconds)
        self._reader = _SelectReader(
            self._http, url=self._http_url, user=self._user, password=self._password, database=database
        )

    def _client(self) -> Client:
        if self._native is None:
            bootstrap = self._connect()
            try:
                bootstrap.execute(f"CREATE DATABASE IF NOT EXISTS {self.database}")
            finally:
                bootstrap.disconnect()
            self._native = self._connect(database=self.database, settings={"use_numpy": False})
        return self._native

    def _connect(self, **options: Any) -> Client:
        return Client(
            host=self._host,
            port=self._port,
            user=self._user,
            password=self._password,
            connect_timeout=5,
            send_receive_timeout=self._timeout,
            **options,
        )

    async def _run_native(self, statement: str, data: Any = None, columnar: bool = False) -> Any:
        def call() -> Any:
            client = self._client()
            if data is None:
                return client.execute(statement)
            return client.execute(statement, data, columnar=columnar)

        async with self._native_lock:
            try:
                return await asyncio.to_thread(call)
            except Exception as exc:
                if self._native is not None:
                    self._native.disconnect()
                raise ClickHouseError.wrap(exc) from exc

    async def server_version(self) -> str:
        rows = await self._run_native("SELECT version()")
        return str(rows[0][0])

    async def execute(self, statement: str) -> None:
        await self._run_native(statement)

    async def select(self, query: str) -> list[dict[str, Any]]:
        await self._client_ready()
        try:
            records = await self._reader.fetch(query)
        except Exception as exc:
            raise ClickHouseError.wrap(exc) from exc
        return [{name: record[name] for name in record} for record in records]

    async def select_values(self, query: str) -> list[Any]:
        return [row[0] for row in await self._run_native(query)]

    async def _client_ready(self) -> None:
        # Reads name the database over HTTP; make sure it exists on a fresh server.
        if self._native is None:
            await self._run_native("SELECT 1")

    async def insert(self, table: str, columns: Mapping[str, Sequence[Any]]) -> int:
        rows = row_count(columns)
        if rows == 0:
            return 0
        names = ", ".join(identifier(name) for name in columns)
        await self._run_native(
            f"INSERT INTO {identifier(table)} ({names}) VALUES", list(columns.values()), columnar=True
        )
        return rows

    async def close(self) -> None:
        async with self._native_lock:
            if self._native is not None:
                self._native.disconnect()
                self._native = None
        await self._http.aclose()

"""The pool's check on checkout: an idle connection whose backend is gone is replaced, a live one is handed
out without a round trip."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from core_api.db.pool import check_idle_connection, create_pool
from core_api.settings import DatabaseSettings
from psycopg import AsyncConnection

from tools.databases import PostgresUrls


async def _backend_pid(conn: AsyncConnection) -> int:
    row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.anyio
async def test_a_live_idle_connection_passes_without_a_query(postgres: PostgresUrls) -> None:
    async with await AsyncConnection.connect(postgres.app, autocommit=True) as conn:
        before = conn.info.backend_pid
        await check_idle_connection(conn)
        # Nothing was sent: the connection is still idle, outside any transaction, on the same backend.
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert await _backend_pid(conn) == before


@pytest.mark.anyio
async def test_an_idle_connection_whose_backend_was_terminated_fails_the_check(
    postgres: PostgresUrls, superuser: psycopg.Connection
) -> None:
    async with await AsyncConnection.connect(postgres.app) as conn:
        pid = await _backend_pid(conn)
        await conn.rollback()
        superuser.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(50):  # the backend's goodbye reaches the socket within moments
            if not superuser.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                break
            await asyncio.sleep(0.02)
        with pytest.raises(psycopg.OperationalError):
            await check_idle_connection(conn)


@pytest.mark.anyio
async def test_the_pool_replaces_a_terminated_connection_on_checkout(
    postgres: PostgresUrls, superuser: psycopg.Connection
) -> None:
    pool = create_pool(DatabaseSettings(url=postgres.app, pool_min_size=1, pool_max_size=1))
    async with pool:
        await pool.wait()
        async with pool.connection() as conn:
            pid = await _backend_pid(conn)
        superuser.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await asyncio.sleep(0.2)
        async with pool.connection(timeout=10) as conn:
            assert await _backend_pid(conn) != pid

"""Keeping an ordered list dense: a plan's sessions (``session_number`` 1..n) and a session's exercises
(``sort_order`` 0..n-1) are each one :class:`Ordering`, with the same statements over their own table.

Every statement first defers the list's unique constraint, so it may pass through duplicate positions; the
transaction still commits only a dense, duplicate-free order. The identifiers come from the two lists
below, never from a request.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, sql

# Make room at %(position)s: that item and every later one move one place on.
_OPEN = "UPDATE {table} SET {position} = {position} + 1 WHERE {parent} = %(parent)s AND {position} >= %(position)s"
# Close the gap a removed item left at %(position)s: every later item moves one place back.
_CLOSE = "UPDATE {table} SET {position} = {position} - 1 WHERE {parent} = %(parent)s AND {position} > %(position)s"
# Move the item at %(source)s to %(target)s; the items in between shift by one towards the gap.
_MOVE = """
UPDATE {table}
SET {position} = CASE
    WHEN {position} = %(source)s THEN %(target)s
    WHEN %(target)s < %(source)s THEN {position} + 1
    ELSE {position} - 1
END
WHERE {parent} = %(parent)s
  AND {position} BETWEEN least(%(source)s, %(target)s) AND greatest(%(source)s, %(target)s)
"""
# Place the items in the order of %(ids)s (the service checked it is a permutation of them), from %(first)s.
_REORDER = """
UPDATE {table} t
SET {position} = o.position - 1 + %(first)s
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS o(id, position)
WHERE t.id = o.id AND t.{parent} = %(parent)s AND t.{position} <> o.position - 1 + %(first)s
"""


class Ordering:
    """The items of ``table`` under one ``parent`` row, at dense positions from ``first``."""

    def __init__(self, table: str, position: str, parent: str, constraint: str, first: int) -> None:
        names = {"table": sql.Identifier(table), "position": sql.Identifier(position), "parent": sql.Identifier(parent)}
        self._defer = sql.SQL("SET CONSTRAINTS {} DEFERRED").format(sql.Identifier(constraint))
        self._open, self._close, self._move, self._reorder = (
            sql.SQL(statement).format(**names) for statement in (_OPEN, _CLOSE, _MOVE, _REORDER)
        )
        self._first = first

    async def open(self, conn: AsyncConnection, parent: Any, position: int) -> None:
        """Shift the items at ``position`` and after by one, freeing ``position``."""
        await self._run(conn, self._open, {"parent": parent, "position": position})

    async def close(self, conn: AsyncConnection, parent: Any, position: int) -> None:
        """Shift the items after the freed ``position`` back by one."""
        await self._run(conn, self._close, {"parent": parent, "position": position})

    async def move(self, conn: AsyncConnection, parent: Any, source: int, target: int) -> None:
        """Move the item at ``source`` to ``target``, shifting the ones in between."""
        await self._run(conn, self._move, {"parent": parent, "source": source, "target": target})

    async def reorder(self, conn: AsyncConnection, parent: Any, ids: list[int]) -> None:
        """Place the items in the order of ``ids`` (all of them, each once)."""
        await self._run(conn, self._reorder, {"parent": parent, "ids": ids, "first": self._first})

    async def _run(self, conn: AsyncConnection, statement: sql.Composed, params: dict[str, Any]) -> None:
        await conn.execute(self._defer)
        await conn.execute(statement, params)


SESSIONS = Ordering(
    "treatment_plan_sessions", "session_number", "treatment_plan_id", "treatment_plan_sessions_number_key", first=1
)
SESSION_EXERCISES = Ordering(
    "treatment_plan_session_exercises",
    "sort_order",
    "session_id",
    "treatment_plan_session_exercises_order_key",
    first=0,
)

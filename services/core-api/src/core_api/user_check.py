"""core-api's bearer-token verifier: a valid signature is not enough, the token's user must exist.

:class:`UserCheckingVerifier` accepts a token only while its ``sub`` is a user of the token's organization
with the token's role, not deleted (``users.deleted_at``), and, for a patient, the user of the token's
``patient_id``, a patient record neither deleted nor awaiting erasure. So a token minted for a user id
that was never created, or whose ``sub`` and ``patient_id`` name different people, is refused, and a
deleted user (or erased patient) loses access within ``AUTH_USER_CHECK_CACHE_SECONDS``: each process
remembers an actor found in PostgreSQL for that long (never a refusal), so the check costs one query per
actor and period, not one per request.

The check runs in the middleware, once per request and before any handler, rather than in the first
statement of each request transaction: it then covers every route, answers 401 with the challenge
header like any other refused token, and the request's own transactions stay as they were.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth.actor import Actor
from service_common.auth.errors import AuthenticationError
from service_common.auth.settings import AuthSettings
from service_common.auth.verifier import TokenVerifier

# One statement in a transaction of its own. Row-level security admits the users and patients rows only once the
# tenant is set, so the statement sets it in a CTE and the check refers to the CTE's row: PostgreSQL
# cannot evaluate the correlated subquery before that row exists. The patients policy also hides a patient
# whose erasure was requested, so such a patient is refused like a deleted one.
USER_IS_CURRENT = """
WITH tenant AS MATERIALIZED (
    SELECT set_config('app.organization_id', %(organization_id)s, true)::bigint AS organization_id
)
SELECT EXISTS (
    SELECT FROM users u
    WHERE u.id = %(user_id)s AND u.organization_id = tenant.organization_id AND u.role = %(role)s
      AND u.deleted_at IS NULL
      AND (u.role <> 'patient' OR EXISTS (
          SELECT FROM patients p
          WHERE p.id = %(patient_id)s AND p.user_id = u.id AND p.organization_id = tenant.organization_id
            AND p.deleted_at IS NULL))
)
FROM tenant
"""


class UserCheckingVerifier(TokenVerifier):
    """:class:`TokenVerifier` that also refuses tokens whose user does not exist, is deleted, or does not
    match the token's organization, role and patient."""

    CACHE_SIZE = 65536
    """Actors a process remembers as checked (least recently seen forgotten first)."""

    def __init__(
        self,
        settings: AuthSettings,
        pool: AsyncConnectionPool[AsyncConnection],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` (monotonic seconds) times the remembered checks as well as the key caches."""
        super().__init__(settings, clock=clock)
        self._pool = pool
        self._cache_seconds = settings.user_check_cache_seconds
        self._now = clock
        # Actor -> the clock reading until which it counts as checked.
        self._checked: OrderedDict[Actor, float] = OrderedDict()

    async def verify(self, token: str) -> Actor:
        """The actor ``token`` authenticates.

        Raises :class:`AuthenticationError` as :meth:`TokenVerifier.verify` does, and when the token's
        user is not (or no longer) a current user matching its claims; ``psycopg.OperationalError``
        (a 503) when PostgreSQL cannot answer.
        """
        actor = await super().verify(token)
        checked_until = self._checked.get(actor)
        if checked_until is not None and self._now() < checked_until:
            self._checked.move_to_end(actor)
            return actor
        if not await self._is_current(actor):
            self._checked.pop(actor, None)
            raise AuthenticationError(
                "The token's user does not exist, is deactivated, or does not match the token's organization, "
                "role or patient."
            )
        self._checked[actor] = self._now() + self._cache_seconds
        self._checked.move_to_end(actor)
        if len(self._checked) > self.CACHE_SIZE:
            self._checked.popitem(last=False)
        return actor

    async def _is_current(self, actor: Actor) -> bool:
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                USER_IS_CURRENT,
                {
                    "organization_id": str(actor.organization_id),
                    "user_id": actor.user_id,
                    "role": actor.role,
                    "patient_id": actor.patient_id,
                },
            )
            row = await cursor.fetchone()
        return row is not None and bool(row[0])

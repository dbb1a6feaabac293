"""Dependencies built from the app's state, for handlers to take by name (Litestar's ``Provide``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from litestar.datastructures import State
from litestar.di import Provide

ValueT = TypeVar("ValueT")


def state_dependency(build: Callable[[State], ValueT]) -> Provide:
    """A dependency whose value is ``build(state)`` for the app's state, made anew for each request (a
    service on the app's connection pool, say). It takes no parameter of its own: the OpenAPI documents
    and the strict request hook see none."""

    def provide_from_state(state: State) -> ValueT:
        return build(state)

    return Provide(provide_from_state, sync_to_thread=False)

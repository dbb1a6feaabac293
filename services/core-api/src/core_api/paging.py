"""Id bounds (path and query) and paging shared by every route: the ``page`` and ``limit`` query
parameters, read once by the ``paging`` dependency, and :class:`Paging`, which turns them into a query's
``limit``/``offset`` and a list response's figures."""

from __future__ import annotations

import functools
import math
from typing import Annotated, Any, TypeVar

import msgspec
from contracts.paging import PageInfo
from litestar.di import NamedDependency, Provide
from litestar.params import PathParameter, QueryParameter

# Serial ids stay below 2**53, the largest integer a JSON client holds exactly.
MAX_ID = 2**53 - 1
IdPath = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]

DEFAULT_LIMIT = 25
MAX_LIMIT = 100

PageParam = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="1-based page number")]
LimitParam = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="items per page, at most 100")]

L = TypeVar("L", bound=msgspec.Struct)
"""A list response: one field of items and the paging figures of :class:`contracts.paging.PageInfo`."""


class Paging(msgspec.Struct, frozen=True):
    """A validated page request: the one place a page becomes an offset and a total a page count."""

    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def params(self, **filters: Any) -> dict[str, Any]:
        """A list query's parameters: ``filters`` with this page's ``limit`` and ``offset``."""
        return {**filters, "limit": self.limit, "offset": self.offset}

    def pages(self, total: int) -> int:
        """How many pages of this size ``total`` items fill."""
        return math.ceil(total / self.limit) if total else 0

    def listing(self, list_type: type[L], items: list[Any], total: int) -> L:
        """The list response ``list_type`` holding ``items``, this page of the ``total`` matching."""
        values: dict[str, Any] = {_items_field(list_type): items, "total": total, "page": self.page}
        return list_type(**values, limit=self.limit, total_pages=self.pages(total))


FIRST_PAGE = Paging(1, DEFAULT_LIMIT)
"""What a list without ``page`` and ``limit`` shows."""


@functools.cache
def _items_field(list_type: type[msgspec.Struct]) -> str:
    """The one field of a list response that is not a paging figure: its items."""
    [name] = set(list_type.__struct_fields__) - set(PageInfo.__struct_fields__)
    return name


def _page_request(page: PageParam = 1, limit: LimitParam = DEFAULT_LIMIT) -> Paging:
    return Paging(page, limit)


PAGING = Provide(_page_request, sync_to_thread=False)
"""The ``paging`` dependency: a list route's ``page`` and ``limit`` query parameters as one :class:`Paging`
(they stand in the route's OpenAPI parameters like its own)."""
PageRequest = NamedDependency[Paging]
"""A handler parameter ``paging: PageRequest`` takes :data:`PAGING`."""

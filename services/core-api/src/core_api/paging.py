"""Id bounds (path and query) and page/limit bounds shared by every route."""

from __future__ import annotations

import math
from typing import Annotated

from litestar.params import PathParameter, QueryParameter

# Serial ids stay below 2**53, the largest integer a JSON client holds exactly.
MAX_ID = 2**53 - 1
IdPath = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]

DEFAULT_LIMIT = 25
MAX_LIMIT = 100

PageParam = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="1-based page number")]
LimitParam = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="items per page, at most 100")]


def offset(page: int, limit: int) -> int:
    return (page - 1) * limit


def total_pages(total: int, limit: int) -> int:
    return math.ceil(total / limit) if total else 0

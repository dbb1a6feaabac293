"""Named SQL blocks loaded once from a ``queries.sql`` file beside the repository that runs them.

A file holds blocks introduced by ``-- name: some_query`` lines; everything up to the next such line is
the query, with ``%(param)s`` placeholders. Queries stay literal SQL a reviewer can read and paste into
psql; nothing is assembled from strings at run time.
"""

from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class Queries(dict[str, bytes]):
    """Query name → SQL text (bytes, as psycopg takes a query that is not a literal)."""

    def __getattr__(self, name: str) -> bytes:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no query named {name!r}") from None


def load_queries(package: str, filename: str = "queries.sql") -> Queries:
    """Parse ``filename`` of ``package`` into its named blocks; duplicate or empty names are errors."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    parts = _NAME.split(text)
    queries = Queries()
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        sql = body.strip()
        if not sql:
            raise ValueError(f"{package}/{filename}: query {name!r} is empty")
        if name in queries:
            raise ValueError(f"{package}/{filename}: query {name!r} is defined twice")
        queries[name] = sql.encode()
    return queries

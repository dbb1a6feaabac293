"""The paging figures a list response carries after its items: how many match, which page this is, its size
and how many pages there are.

A list Struct inherits them from one of these keyword-only bases. msgspec orders a keyword-only base's
fields after the subclass's positional ones and before a keyword-only subclass's own.
"""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.types import NonNegativeInt, Page, PositiveInt


class PageInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Paging figures of a list of reference data, forms, automations."""

    total: Annotated[NonNegativeInt, Meta(description="Items matching the query, over all pages.")]
    page: Annotated[Page, Meta(description="This page's number, from 1.")]
    limit: Annotated[PositiveInt, Meta(description="Items per page, as asked (at most 100).")]
    total_pages: Annotated[NonNegativeInt, Meta(description="Pages at this `limit` (0 when nothing matches).")]


class FilteredPageInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Paging figures of a filtered list of treatment plans."""

    total: Annotated[NonNegativeInt, Meta(description="Number of items matching the filters, over all pages.")]
    page: Annotated[Page, Meta(description="The 1-based page number returned.")]
    limit: Annotated[PositiveInt, Meta(description="Items per page as requested (1-100).")]
    total_pages: Annotated[NonNegativeInt, Meta(description="Number of pages at this limit; 0 when nothing matches.")]

"""ClickHouse SQL for the media ranking: the organization's media ordered by one QoE rate, over the
per-view rows of ``qoe_queries.py``; runs on ClickHouse 18.16 and chdb's 26.x alike."""

from __future__ import annotations

from typing import get_args

from contracts.media_stats import MediaRankingOrder

from telemetry.clickhouse.sql import Sql, identifier, render
from telemetry.media.qoe_queries import QOE_AGGREGATES, per_view_query

# The organization's media ranked by one QoE rate, worst first; ties by more views, then by media id, so the
# order is the same on every read. Views without a media id (their play_intent and session_start were lost)
# rank nowhere.
_RANKING = """
SELECT view_media_id AS ranked_media_id, {qoe}
FROM ({per_view})
WHERE view_media_id != ''
GROUP BY view_media_id
HAVING qoe_views >= {min_views}
ORDER BY {order_column} DESC, qoe_views DESC, ranked_media_id
LIMIT {limit}
"""

RANKING_ORDERS: tuple[str, ...] = get_args(MediaRankingOrder)
"""The ``order_by`` values the media ranking accepts, each a figure of :data:`QOE_FIELDS`."""


def media_ranking_query(org_hash: str, hours: int, order_by: str, min_views: int, limit: int) -> Sql:
    """QoE figures per media of ``org_hash``'s views of the last ``hours``, the ``limit`` media with at least
    ``min_views`` views and the highest ``order_by`` first."""
    if order_by not in RANKING_ORDERS:
        raise ValueError(f"cannot rank by {order_by!r}")
    return render(
        _RANKING,
        qoe=QOE_AGGREGATES,
        per_view=per_view_query(org_hash, hours),
        min_views=min_views,
        order_column=identifier(f"qoe_{order_by}"),
        limit=limit,
    )

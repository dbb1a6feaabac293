"""Cluster mode (CLICKHOUSE_CLUSTER) on real ClickHouse 18.16 servers: one shard of two replicas coordinated
by ZooKeeper (tools/cluster/clickhouse_cluster.py), the smoke of what ``make cluster-check`` runs on two
shards. The migrations create replicated local tables and Distributed tables on both replicas; a retried
block is stored once; retention and erasure reach both replicas; the session evidence reads the Distributed
tables."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from contracts.session_evidence import EvidenceSessionKey
from telemetry.clickhouse.migrate import migrate
from telemetry.clickhouse.server import ServerStore
from telemetry.erasure import erasure_statements
from telemetry.evidence.figures import session_evidence
from telemetry.jobs.retention import apply_retention
from telemetry.settings import RetentionSettings

from tests.markers import needs
from tools.cluster.clickhouse_cluster import CLUSTER, ClickHouseCluster, prod_profile
from tools.databases import ClickHouseUnavailable

TABLES = ("media_events", "pose_tracking_frames", "analytics_events", "error_reports", "ingest_batches")
ORG = "org_cluster_smoke"


@pytest.fixture(scope="module")
@needs("clickhouse_server", "kubectl")
def replicated_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseCluster]:
    """ZooKeeper and two ClickHouse servers, replicas of one shard of the cluster ``telemetry``, with the
    prod overlay's profile."""
    cluster = ClickHouseCluster(tmp_path_factory.mktemp("clickhouse-cluster"), prod_profile(), shards=1, replicas=2)
    try:
        cluster.start()
    except (ClickHouseUnavailable, RuntimeError) as exc:
        cluster.stop()
        pytest.skip(f"no ClickHouse cluster: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
async def database(replicated_pair: ClickHouseCluster) -> str:
    """A database migrated in cluster mode through the first replica."""
    name = f"cluster_{uuid.uuid4().hex[:12]}"
    store = ServerStore(replicated_pair.entry.url, replicated_pair.entry.http_url, name)
    try:
        await migrate(store, CLUSTER)
    finally:
        await store.close()
    return name


@pytest.fixture
async def stores(replicated_pair: ClickHouseCluster, database: str) -> AsyncIterator[list[ServerStore]]:
    """A store on each replica."""
    opened = [ServerStore(r.server.url, r.server.http_url, database) for r in replicated_pair.replicas]
    try:
        yield opened
    finally:
        for store in opened:
            await store.close()


async def _counts(stores: list[ServerStore], where: str) -> list[int]:
    """Rows of media_events_local matching ``where`` on each replica, once it has what the other has."""
    counts = []
    for store in stores:
        await store.execute("SYSTEM SYNC REPLICA media_events_local")
        counts.append(int((await store.select_values(f"SELECT count() FROM media_events_local WHERE {where}"))[0]))
    return counts


def _media_rows(actors: list[str], received_at: datetime) -> dict[str, list[Any]]:
    return {
        "batch_id": [uuid.uuid4() for _ in actors],
        "org_hash": [ORG] * len(actors),
        "actor_hash": actors,
        "session_id": [uuid.uuid4() for _ in actors],
        "media_id": ["exercise"] * len(actors),
        "event": ["heartbeat"] * len(actors),
        "event_time": [received_at] * len(actors),
        "received_at": [received_at] * len(actors),
        "effective_bandwidth_mbps": [9.5] * len(actors),
    }


@pytest.mark.anyio
async def test_every_table_is_replicated_and_distributed_with_the_same_columns_on_both_replicas(
    stores: list[ServerStore],
) -> None:
    for store in stores:
        rows = await store.select(f"SELECT name, engine FROM system.tables WHERE database = '{store.database}'")
        engines = {row["name"]: row["engine"] for row in rows}
        for table in TABLES:
            assert engines[f"{table}_local"] == "ReplicatedMergeTree"
            assert engines[table] == "Distributed"
            columns = "SELECT name, type FROM system.columns WHERE database = '{database}' AND table = '{table}'"
            local = await store.select(columns.format(database=store.database, table=f"{table}_local"))
            distributed = await store.select(columns.format(database=store.database, table=table))
            # Later migrations' columns (0004-0006) reached the Distributed tables too.
            assert local == distributed, table


@pytest.mark.anyio
async def test_a_retried_block_is_stored_once(stores: list[ServerStore]) -> None:
    block = _media_rows([f"retry_{n}" for n in range(5)], datetime.now(UTC).replace(microsecond=0))
    # As the flusher retries after a lost answer: the same block again, also through the other replica.
    for store in (stores[0], stores[0], stores[1]):
        await store.insert("media_events", block)
    ids = ", ".join(f"toUUID('{session}')" for session in block["session_id"])
    assert await _counts(stores, f"session_id IN ({ids})") == [5, 5]


@pytest.mark.anyio
async def test_retention_drops_old_partitions_and_clears_old_samples_on_both_replicas(
    stores: list[ServerStore],
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    await stores[0].insert("media_events", _media_rows(["retention_old", "retention_old"], now - timedelta(days=800)))
    await stores[0].insert("media_events", _media_rows(["retention_sample"], now - timedelta(days=200)))
    await stores[0].insert("media_events", _media_rows(["retention_new"], now))

    await apply_retention(stores[0], RetentionSettings(), now=now, cluster=CLUSTER)

    old, sampled = "actor_hash = 'retention_old'", "actor_hash = 'retention_sample' AND effective_bandwidth_mbps != 0"
    for _ in range(60):  # the ALTERs run ON CLUSTER, in the background of the call
        if await _counts(stores, old) == [0, 0] and await _counts(stores, sampled) == [0, 0]:
            break
        await asyncio.sleep(0.5)
    assert await _counts(stores, old) == [0, 0]
    assert await _counts(stores, sampled) == [0, 0]
    assert await _counts(stores, "actor_hash = 'retention_sample'") == [1, 1]
    assert await _counts(stores, "actor_hash = 'retention_new' AND effective_bandwidth_mbps != 0") == [1, 1]


@pytest.mark.anyio
async def test_erasure_deletes_the_actor_on_both_replicas(stores: list[ServerStore]) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    await stores[0].insert("media_events", _media_rows(["erased", "erased", "kept"], now))

    for statement in erasure_statements(CLUSTER, ORG, "erased"):
        await stores[0].execute(statement)

    for _ in range(60):  # mutations run in the background
        if await _counts(stores, "actor_hash = 'erased'") == [0, 0]:
            break
        await asyncio.sleep(0.5)
    assert await _counts(stores, "actor_hash = 'erased'") == [0, 0]
    assert await _counts(stores, "actor_hash = 'kept'") == [1, 1]


@pytest.mark.anyio
async def test_session_evidence_reads_the_distributed_tables(stores: list[ServerStore]) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    watched = _media_rows(["evidence_patient", "evidence_other"], now)
    session = watched["session_id"][0]
    watched["session_id"][1] = session  # another actor's event under the same session id
    watched["watched_duration_seconds"] = [12.5, 99.0]
    await stores[0].insert("media_events_local", watched)
    frames = {
        "batch_id": [session] * 2,
        "org_hash": [ORG] * 2,
        "actor_hash": ["evidence_patient"] * 2,
        "session_id": [session] * 2,
        "frame_number": [1, 2],
        "rep_count": [4, 5],
        "form_score": [0.5, None],
    }
    await stores[0].insert("pose_tracking_frames_local", frames)
    for table in ("media_events_local", "pose_tracking_frames_local"):
        await stores[1].execute(f"SYSTEM SYNC REPLICA {table}")

    key = EvidenceSessionKey(actor_hash="evidence_patient", session_id=session)
    (evidence,) = await session_evidence(stores[1], ORG, [key])

    assert evidence.media is not None
    assert evidence.pose is not None
    assert (evidence.media.events, evidence.media.watched_seconds) == (1, 12.5)
    assert (evidence.pose.frames, evidence.pose.reps_counted, evidence.pose.mean_form_score) == (2, 5, 50.0)
    assert evidence.pose.low_visibility_frames == 1

"""The ClickHouse half of ``make cluster-check``: telemetry on two shards of two ClickHouse 18.16 replicas.

ZooKeeper and four servers start on loopback under a temporary folder (tools/cluster/clickhouse_cluster.py);
telemetry's migrations run with CLICKHOUSE_CLUSTER set, and telemetry, a real process, writes and reads
through the Distributed tables. The scenarios, each printing its figures:

1. **Replica outage under ingest.** Devices post media events while one replica (``s2r1``, not the host
   telemetry talks to) is stopped and started again; staff reads run during the outage. Every acknowledged
   event is stored exactly once, both replicas of each shard hold the same events, shards hold disjoint
   ones, and the restarted replica catches up.
2. **Reads match a single server.** The same events go to telemetry on the cluster and on one server;
   every staff read route answers the same JSON on both.
3. **Erasure and retention.** ``DELETE /v1/actors/{hash}`` removes a patient's rows from every replica;
   the retention job drops old partitions and clears old bandwidth samples on every replica.
4. **Retried blocks.** The same block inserted twice through the Distributed table, also through a host of
   the other shard, is stored once (ReplicatedMergeTree block deduplication).
5. **A replica replaced.** ``s2r1`` comes back with an empty disk; the procedure of docs/operations.md
   (forget it in ZooKeeper, create its tables again from the other replica's) brings every row back.
6. **A shard added.** A third shard of two replicas joins (``remote_servers`` reread, tables created from
   an existing host's); new devices' events spread over the three shards, each stored once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from telemetry.clickhouse.server import ServerStore

from tests.conftest import start_service, stop_service
from tests.faults.scenarios import EVENTS_PER_REQUEST, IngestLoad, Report, stored_event_counts, telemetry_env
from tools.cluster import telemetry_dataset as dataset
from tools.cluster.clickhouse_cluster import CLUSTER, ClickHouseCluster, prod_profile
from tools.databases import ClickHouseServer
from tools.tokens import ensure_dev_keys, ensure_telemetry_token_keys, mint_telemetry_token

DATABASE = "telemetry"
OUTAGE_REPLICA = "s2r1"
ACTOR_TABLES = ("media_events", "pose_tracking_frames", "analytics_events", "error_reports")


class CheckFailed(AssertionError):
    """A promise of the cluster did not hold; the message says which, with the figures."""


def check(condition: bool, message: str, report: Report) -> None:
    if not condition:
        raise CheckFailed(f"{message}\n{report}")


# Processes and queries ------------------------------------------------------------------------------


@contextmanager
def telemetry_running(env: dict[str, str]) -> Iterator[str]:
    """telemetry with ``env`` (its ClickHouse, spool and keys) as production runs it: ``python -m
    telemetry.flusher`` beside ``python -m telemetry`` (SPOOL_FLUSHER=process); the base URL. The one place
    the check starts telemetry's processes."""
    layout = {**env, "SPOOL_FLUSHER": "process"}
    flusher = subprocess.Popen(
        [sys.executable, "-m", "telemetry.flusher"], env={**os.environ, **layout, "LOG_LEVEL": "warning"}
    )
    try:
        base_url, server = start_service("telemetry", layout)
        try:
            yield base_url
        finally:
            stop_service(server)
    finally:
        stop_service(flusher)


def migrate(env: dict[str, str]) -> float:
    """Run telemetry's ClickHouse migrations with ``env``; the seconds they took."""
    began = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "telemetry.clickhouse.migrate"],
        env={**os.environ, **env, "LOG_LEVEL": "warning"},
        check=True,
    )
    return round(time.monotonic() - began, 1)


def query(server: ClickHouseServer, sql: str, timeout_seconds: float = 60.0) -> list[list[str]]:
    """``sql`` run on ``server`` over HTTP; its rows as lists of TSV fields."""
    url = f"{server.http_url}?{urllib.parse.urlencode({'database': DATABASE})}"
    request = urllib.request.Request(url, data=f"{sql} FORMAT TSV".encode(), method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout_seconds) as response:  # noqa: S310 - loopback only
        return [line.split("\t") for line in response.read().decode().splitlines()]


def execute(server: ClickHouseServer, sql: str, database: str = DATABASE) -> None:
    """Run ``sql`` on ``server`` over HTTP, in ``database`` (``""``: the server's default)."""
    url = f"{server.http_url}?{urllib.parse.urlencode({'database': database})}" if database else server.http_url
    request = urllib.request.Request(url, data=sql.encode(), method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback only
        response.read()


def local_event_counts(server: ClickHouseServer) -> Counter[uuid.UUID]:
    """Rows per event id (media events' session_id) in ``server``'s own media_events_local."""
    rows = query(server, "SELECT toString(session_id), count() FROM media_events_local GROUP BY session_id")
    return Counter({uuid.UUID(event_id): int(n) for event_id, n in rows})


def seconds_until(condition: Callable[[], bool], limit_seconds: float, since: float | None = None) -> float | None:
    began = time.monotonic() if since is None else since
    while time.monotonic() - began < limit_seconds:
        if condition():
            return round(time.monotonic() - began, 1)
        time.sleep(0.25)
    return None


def staff_headers(keys: Path, role: str = "staff") -> dict[str, str]:
    token = mint_telemetry_token(
        keys, actor_hash=f"{role}_cluster_check", org_hash=dataset.ORG_HASH, consent_level=0, role=role
    )
    return {"Authorization": f"Bearer {token}"}


# 1. Replica outage under ingest ------------------------------------------------------------------------


class StaffReads:
    """A reader asking the bandwidth statistics and the media ranking, one after the other, until stopped."""

    def __init__(self, base_url: str, keys: Path) -> None:
        self.base_url = base_url
        self.headers = staff_headers(keys)
        self.answers: Counter[str] = Counter()
        self.slowest_seconds = 0.0
        self._stop = threading.Event()

    def _run(self) -> None:
        paths = ("/v1/media/bandwidth/stats?period=7d", "/v1/media/ranking?period=30d")
        with httpx.Client(timeout=15.0, headers=self.headers) as http:
            while not self._stop.is_set():
                for path in paths:
                    began = time.monotonic()
                    try:
                        self.answers[str(http.get(f"{self.base_url}{path}").status_code)] += 1
                    except httpx.HTTPError as exc:
                        self.answers[type(exc).__name__] += 1
                    self.slowest_seconds = max(self.slowest_seconds, time.monotonic() - began)
                self._stop.wait(0.2)

    @contextmanager
    def running(self) -> Iterator[None]:
        thread = threading.Thread(target=self._run)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()


def replica_outage_under_ingest(
    cluster: ClickHouseCluster,
    env: dict[str, str],
    keys: Path,
    *,
    load_seconds: float,
    down_seconds: float,
    devices: int = 8,
) -> Report:
    stopped = cluster.replica(OUTAGE_REPLICA)
    partner = next(r.server for r in cluster.replicas if r.shard == 2 and r.name != OUTAGE_REPLICA)
    with telemetry_running(env) as base_url:
        load = IngestLoad([base_url], keys)
        reads = StaffReads(base_url, keys)
        with load.running(devices):
            time.sleep((load_seconds - down_seconds) / 2)
            stopped.stop()
            acknowledged_before = len(load.acknowledged)
            with reads.running():
                time.sleep(down_seconds)
            acknowledged_while_down = len(load.acknowledged) - acknowledged_before
            restarted_at = time.monotonic()
            stopped.start()
            restart_seconds = round(time.monotonic() - restarted_at, 1)
            backlog = sum(local_event_counts(partner).values())
            caught_up = seconds_until(
                lambda: sum(local_event_counts(stopped).values()) >= backlog, 120.0, since=restarted_at
            )
            time.sleep(max(0.0, (load_seconds - down_seconds) / 2 - (time.monotonic() - restarted_at)))
        began = time.monotonic()
        all_stored = seconds_until(
            lambda: load.acknowledged <= stored_event_counts(cluster.entry.http_url, DATABASE).keys(), 120.0
        )
    for replica in cluster.replicas:
        execute(replica.server, "SYSTEM SYNC REPLICA media_events_local")
    in_sync = round(time.monotonic() - began, 1)
    stored = stored_event_counts(cluster.entry.http_url, DATABASE)
    per_replica = {replica.name: local_event_counts(replica.server) for replica in cluster.replicas}
    shards = {shard: per_replica[f"s{shard}r1"] for shard in (1, 2)}
    missing = load.acknowledged - stored.keys()
    report = Report(
        "clickhouse replica stopped during ingest",
        {
            "devices": devices,
            "load_s": load_seconds,
            "outage_s": down_seconds,
            "answers": dict(load.answers),
            "batches_acknowledged": len(load.acknowledged) // EVENTS_PER_REQUEST,
            "batches_acknowledged_during_outage": acknowledged_while_down // EVENTS_PER_REQUEST,
            "events_acknowledged": len(load.acknowledged),
            "events_stored": len(stored),
            "stored_rows": sum(stored.values()),
            "acknowledged_missing": len(missing),
            "stored_more_than_once": sum(1 for n in stored.values() if n != 1),
            "rows_per_shard": {shard: sum(counts.values()) for shard, counts in shards.items()},
            "replica_restart_s": restart_seconds,
            "replica_caught_up_after_restart_s": caught_up,
            "all_acknowledged_stored_after_load_s": all_stored,
            "replicas_in_sync_after_load_s": in_sync,
            "reads_during_outage": dict(reads.answers),
            "slowest_read_during_outage_s": round(reads.slowest_seconds, 2),
        },
    )
    check(not load.bad, f"ingest answers neither 2xx nor 429/503 with Retry-After: {load.bad[:3]}", report)
    check(bool(load.acknowledged) and acknowledged_while_down > 0, "nothing acknowledged during the outage", report)
    check(not missing, "acknowledged events missing", report)
    check(all(n == 1 for n in stored.values()), "events stored more than once", report)
    check(not stored.keys() - load.acknowledged - load.unanswered, "events stored although refused", report)
    for shard in (1, 2):
        check(per_replica[f"s{shard}r1"] == per_replica[f"s{shard}r2"], f"replicas of shard {shard} differ", report)
    check(not shards[1].keys() & shards[2].keys(), "an event is on both shards", report)
    check(set(reads.answers) == {"200"}, "staff reads failed during the outage", report)
    check(caught_up is not None, "the restarted replica did not catch up within 120 s", report)
    return report


# 2. Reads match a single server ------------------------------------------------------------------------


def post_dataset(base_url: str, keys: Path, cohort: list[dataset.Patient], now: datetime) -> int:
    """Post every patient's view and pose session; the rows telemetry acknowledged."""
    rows = 0
    with httpx.Client(timeout=30.0) as http:
        for patient in cohort:
            token = mint_telemetry_token(
                keys, actor_hash=patient.actor_hash, org_hash=dataset.ORG_HASH, consent_level=3, biometric=True
            )
            headers = {"Authorization": f"Bearer {token}", "CF-IPCountry": patient.country}
            for path, body in (
                ("/v1/media/events", dataset.media_events(patient, dataset.view_start(patient, now))),
                ("/v1/pose/frames", dataset.pose_batch(patient)),
            ):
                response = http.post(f"{base_url}{path}", json=body, headers=headers)
                if response.status_code != 202:
                    raise CheckFailed(f"POST {path}: {response.status_code} {response.text[:300]}")
                rows += int(response.json()["accepted"])
    return rows


def _all_stored(server: ClickHouseServer, rows: int) -> bool:
    """Whether ``server`` (through the Distributed tables on a cluster) holds the dataset's ``rows``."""
    sql = (
        f"SELECT (SELECT count() FROM media_events WHERE org_hash = '{dataset.ORG_HASH}')"
        f" + (SELECT count() FROM pose_tracking_frames WHERE org_hash = '{dataset.ORG_HASH}')"
    )
    return int(query(server, sql)[0][0]) == rows


_PATIENTS_HERE = "SELECT uniqExact(actor_hash) FROM media_events_local WHERE org_hash = '{org_hash}'"


def reads_match_single_server(
    cluster_url: str,
    single_url: str,
    cluster: ClickHouseCluster,
    single: ClickHouseServer,
    keys: Path,
    cohort: list[dataset.Patient],
) -> Report:
    now = datetime.now(UTC)
    acknowledged = {
        name: post_dataset(url, keys, cohort, now) for name, url in (("cluster", cluster_url), ("single", single_url))
    }
    flushed = {
        name: seconds_until(partial(_all_stored, server, acknowledged[name]), 60.0)
        for name, server in (("cluster", cluster.entry), ("single", single))
    }
    headers = staff_headers(keys)
    differing: list[str] = []
    timings: dict[str, list[float]] = {"cluster": [], "single": []}
    reads = dataset.staff_reads(cohort)
    with httpx.Client(timeout=30.0, headers=headers) as http:
        for path, params in reads:
            answers = {}
            for name, url in (("cluster", cluster_url), ("single", single_url)):
                began = time.monotonic()
                response = http.get(f"{url}{path}", params=params)
                timings[name].append(time.monotonic() - began)
                answers[name] = (response.status_code, response.json())
            if answers["cluster"] != answers["single"] or answers["cluster"][0] != 200:
                differing.append(f"{path} {params}: cluster {answers['cluster']} single {answers['single']}"[:600])
    patients_per_shard = {
        replica.shard: int(query(replica.server, _PATIENTS_HERE.format(org_hash=dataset.ORG_HASH))[0][0])
        for replica in cluster.replicas
    }
    report = Report(
        "staff reads on the cluster and on one server",
        {
            "patients": len(cohort),
            "patients_per_shard": patients_per_shard,
            "rows_acknowledged": acknowledged,
            "stored_after_s": flushed,
            "routes_compared": len(reads),
            "routes_differing": len(differing),
            "read_median_ms": {name: round(sorted(t)[len(t) // 2] * 1000, 1) for name, t in timings.items()},
        },
    )
    check(all(seconds is not None for seconds in flushed.values()), "acknowledged rows not stored within 60 s", report)
    check(not differing, "answers differ:\n" + "\n".join(differing[:5]), report)
    return report


# 3. Erasure and retention ------------------------------------------------------------------------------


def actor_rows_per_replica(cluster: ClickHouseCluster, actor_hash: str) -> dict[str, int]:
    """Rows of ``actor_hash`` in every actor table, per replica (its own local tables)."""
    sql = " + ".join(f"(SELECT count() FROM {table}_local WHERE actor_hash = '{actor_hash}')" for table in ACTOR_TABLES)
    return {replica.name: int(query(replica.server, f"SELECT {sql}")[0][0]) for replica in cluster.replicas}


def erasure_across_shards(
    cluster: ClickHouseCluster, cluster_url: str, keys: Path, cohort: list[dataset.Patient]
) -> Report:
    erased, kept = cohort[0], cohort[1:]
    before = {patient.actor_hash: actor_rows_per_replica(cluster, patient.actor_hash) for patient in cohort}
    began = time.monotonic()
    response = httpx.delete(
        f"{cluster_url}/v1/actors/{erased.actor_hash}", headers=staff_headers(keys, role="service"), timeout=60.0
    )
    answered = round(time.monotonic() - began, 2)
    gone = seconds_until(
        lambda: not any(actor_rows_per_replica(cluster, erased.actor_hash).values()), 120.0, since=began
    )
    after = {patient.actor_hash: actor_rows_per_replica(cluster, patient.actor_hash) for patient in kept}
    report = Report(
        "erasure across shards and replicas",
        {
            "status": response.status_code,
            "answered_s": answered,
            "rows_erased_per_replica": before[erased.actor_hash],
            "erased_on_every_replica_after_s": gone,
            "other_patients_rows_unchanged": all(after[p.actor_hash] == before[p.actor_hash] for p in kept),
        },
    )
    check(response.status_code == 202, f"erasure answered {response.status_code}: {response.text[:200]}", report)
    check(sum(before[erased.actor_hash].values()) > 0, "the erased patient had no rows to begin with", report)
    check(gone is not None, "rows of the erased patient remain on a replica after 120 s", report)
    check(all(after[p.actor_hash] == before[p.actor_hash] for p in kept), "other patients lost rows", report)
    return report


def _old_rows(now: datetime) -> list[str]:
    """INSERTs of rows past retention on both shards: media 800 days (dropped), media 200 days (kept, its
    bandwidth samples cleared), pose 260 days and error reports 160 days (dropped)."""

    def at(days: int) -> str:
        return f"'{(now - timedelta(days=days)):%Y-%m-%d %H:%M:%S}'"

    statements = []
    for number in range(6):
        actor = f"'retention_{number}'"
        common = f"generateUUIDv4(), '{dataset.ORG_HASH}', {actor}, generateUUIDv4()"
        for days in (800, 200):
            statements.append(
                "INSERT INTO media_events (batch_id, org_hash, actor_hash, session_id, media_id, event, event_time, "
                "received_at, effective_bandwidth_mbps, ttfb_ms, rtt_ms, cdn_response_time_ms) "
                f"SELECT {common}, 'exercise-old', 'session_start', {at(days)}, {at(days)}, 9.5, 300, 40, 120"
            )
        statements.append(
            "INSERT INTO pose_tracking_frames (batch_id, org_hash, actor_hash, session_id, media_id, received_at, "
            f"frame_number) SELECT {common}, 'exercise-old', {at(260)}, 1"
        )
        statements.append(
            "INSERT INTO error_reports (batch_id, org_hash, actor_hash, error_type, event_time, received_at) "
            f"SELECT generateUUIDv4(), '{dataset.ORG_HASH}', {actor}, 'TypeError', {at(160)}, {at(160)}"
        )
    return statements


_RETENTION_FIGURES = """
SELECT
    (SELECT count() FROM media_events_local WHERE actor_hash LIKE 'retention_%' AND received_at < {media_cutoff}),
    (SELECT count() FROM media_events_local WHERE actor_hash LIKE 'retention_%' AND received_at >= {media_cutoff}),
    (SELECT count() FROM media_events_local WHERE actor_hash LIKE 'retention_%' AND effective_bandwidth_mbps != 0),
    (SELECT count() FROM pose_tracking_frames_local WHERE actor_hash LIKE 'retention_%'),
    (SELECT count() FROM error_reports_local WHERE actor_hash LIKE 'retention_%'),
    (SELECT count() FROM media_events_local WHERE actor_hash NOT LIKE 'retention_%')
"""


def retention_across_shards(cluster: ClickHouseCluster, env: dict[str, str]) -> Report:
    now = datetime.now(UTC)
    for statement in _old_rows(now):
        execute(cluster.entry, statement)
    figures_sql = _RETENTION_FIGURES.format(media_cutoff=f"'{(now - timedelta(days=730)):%Y-%m-%d %H:%M:%S}'")

    def figures() -> dict[str, list[int]]:
        return {r.name: [int(v) for v in query(r.server, figures_sql)[0]] for r in cluster.replicas}

    for replica in cluster.replicas:
        for table in ("media_events", "pose_tracking_frames", "error_reports"):
            execute(replica.server, f"SYSTEM SYNC REPLICA {table}_local")
    before = figures()
    began = time.monotonic()
    job = subprocess.run(
        [sys.executable, "-m", "telemetry.jobs.retention"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    job_seconds = round(time.monotonic() - began, 1)

    def done() -> bool:
        return all(
            old == 0 and cleared == 0 and pose == 0 and errors == 0
            for old, _, cleared, pose, errors, _ in figures().values()
        )

    applied = seconds_until(done, 60.0, since=began)
    after = figures()

    def past(values: dict[str, list[int]]) -> dict[str, int]:
        return {name: media + pose + errors for name, (media, _, _, pose, errors, _) in values.items()}

    report = Report(
        "retention across shards and replicas",
        {
            "job_exit": job.returncode,
            "job_s": job_seconds,
            "applied_on_every_replica_after_s": applied,
            "rows_past_retention_before": past(before),
            "rows_past_retention_after": past(after),
            "bandwidth_samples_past_90d_before": {name: values[2] for name, values in before.items()},
            "bandwidth_samples_past_90d_after": {name: values[2] for name, values in after.items()},
        },
    )
    check(job.returncode == 0, f"the retention job failed: {job.stderr[-800:]}", report)
    check(all(values[0] > 0 and values[3] > 0 for values in before.values()), "old rows missing on a replica", report)
    check(applied is not None, "old partitions or bandwidth samples remain on a replica", report)
    check(
        all(after[name][1] == before[name][1] and after[name][5] == before[name][5] for name in after),
        "rows within retention were removed",
        report,
    )
    return report


# 4. Retried blocks ---------------------------------------------------------------------------------------


def _block(count: int) -> dict[str, list[Any]]:
    received = datetime.now(UTC).replace(microsecond=0)
    return {
        "batch_id": [uuid.uuid4() for _ in range(count)],
        "org_hash": [dataset.ORG_HASH] * count,
        "actor_hash": [f"retry_{number}" for number in range(count)],
        "session_id": [uuid.uuid4() for _ in range(count)],
        "media_id": ["exercise-retry"] * count,
        "event": ["heartbeat"] * count,
        "event_time": [received] * count,
        "received_at": [received] * count,
    }


async def _insert_three_times(cluster: ClickHouseCluster, block: dict[str, list[Any]]) -> None:
    # Twice through the host telemetry uses, once through a host of the other shard: the flusher's insert.
    for server in (cluster.entry, cluster.entry, cluster.replica("s2r2")):
        store = ServerStore(server.url, server.http_url, DATABASE)
        try:
            await store.insert("media_events", block)
        finally:
            await store.close()


def retried_block_stored_once(cluster: ClickHouseCluster, rows: int = 12) -> Report:
    block = _block(rows)
    asyncio.run(_insert_three_times(cluster, block))
    for replica in cluster.replicas:
        execute(replica.server, "SYSTEM SYNC REPLICA media_events_local")
    ids = set(block["session_id"])
    per_replica = {
        replica.name: sum(n for event_id, n in local_event_counts(replica.server).items() if event_id in ids)
        for replica in cluster.replicas
    }
    stored = sum(n for event_id, n in stored_event_counts(cluster.entry.http_url, DATABASE).items() if event_id in ids)
    report = Report(
        "retried block through the Distributed table",
        {"rows_in_block": rows, "inserts": 3, "rows_stored": stored, "rows_per_replica": per_replica},
    )
    check(stored == rows, "a retried block was stored more than once", report)
    check(
        per_replica["s1r1"] == per_replica["s1r2"] and per_replica["s2r1"] == per_replica["s2r2"],
        "replicas differ",
        report,
    )
    return report


# 5. A replica replaced by an empty server ---------------------------------------------------------------

_REPLICATED = "SELECT table, zookeeper_path FROM system.replicas WHERE database = '{database}' ORDER BY table"
_DISTRIBUTED = "SELECT name FROM system.tables WHERE database = '{database}' AND engine = 'Distributed'"


def show_create(server: ClickHouseServer, table: str) -> str:
    """The ``CREATE TABLE`` statement of ``table`` on ``server``, unescaped."""
    url = f"{server.http_url}?{urllib.parse.urlencode({'database': DATABASE})}"
    sql = f"SHOW CREATE TABLE {DATABASE}.{table} FORMAT TSVRaw"
    request = urllib.request.Request(url, data=sql.encode(), method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback only
        statement: str = response.read().decode()
    return statement.strip()


def copy_schema(source: ClickHouseServer, target: ClickHouseServer) -> int:
    """Create the database and every table of ``source``'s on ``target`` from its ``SHOW CREATE TABLE``,
    the replicated tables before the Distributed ones over them; how many tables."""
    replicated = [table for table, _ in query(source, _REPLICATED.format(database=DATABASE))]
    distributed = [table for (table,) in query(source, _DISTRIBUTED.format(database=DATABASE))]
    execute(target, f"CREATE DATABASE IF NOT EXISTS {DATABASE}", database="")
    for table in replicated + distributed:
        execute(target, show_create(source, table))
    return len(replicated) + len(distributed)


def replica_replaced(cluster: ClickHouseCluster, name: str = OUTAGE_REPLICA) -> Report:
    """The procedure of docs/operations.md, "Replace a ClickHouse replica", on 18.16: the replica's server
    loses its disk and comes back empty under the same replica name; its entries in ZooKeeper are removed
    and its tables created again from the other replica's, which it then copies every part from."""
    server = cluster.replica(name)
    shard = next(replica.shard for replica in cluster.replicas if replica.name == name)
    partner = next(r.server for r in cluster.replicas if r.shard == shard and r.name != name)
    execute(partner, "SYSTEM SYNC REPLICA media_events_local")
    expected = local_event_counts(partner)
    replicated = query(partner, _REPLICATED.format(database=DATABASE))
    server.stop()
    shutil.rmtree(server.root / "data")
    began = time.monotonic()
    server.start()
    cluster.zookeeper.cli([f"deleteall {path}/replicas/{name}" for _, path in replicated])
    created = copy_schema(partner, server)
    recreated = round(time.monotonic() - began, 1)
    copied = seconds_until(lambda: local_event_counts(server) == expected, 120.0, since=began)
    report = Report(
        "clickhouse replica replaced by an empty server",
        {
            "replica": name,
            "tables_created_again": created,
            "schema_back_after_s": recreated,
            "events_to_copy": sum(expected.values()),
            "all_parts_copied_after_s": copied,
        },
    )
    check(copied is not None, "the new replica did not copy the shard's rows within 120 s", report)
    return report


# 6. A shard added ---------------------------------------------------------------------------------------

_SHARDS_LISTED = f"SELECT uniqExact(shard_num) FROM system.clusters WHERE cluster = '{CLUSTER}'"


def shard_added(
    cluster: ClickHouseCluster, env: dict[str, str], keys: Path, *, load_seconds: float, devices: int = 16
) -> Report:
    """The procedure of docs/operations.md, "Add a ClickHouse shard", without the operator: a third shard's
    two replicas start, every server's ``remote_servers`` lists it (reread without a restart), its tables
    are created from an existing host's; then telemetry takes new devices' events, which spread over the
    three shards, each stored once."""
    began = time.monotonic()
    added = cluster.add_shard()
    for replica in added:
        copy_schema(cluster.entry, replica.server)
    shards = len({replica.shard for replica in cluster.replicas})
    listed = seconds_until(
        lambda: all(int(query(r.server, _SHARDS_LISTED)[0][0]) == shards for r in cluster.replicas), 60.0, since=began
    )
    with telemetry_running(env) as base_url:
        load = IngestLoad([base_url], keys)
        with load.running(devices):
            time.sleep(load_seconds)
        all_stored = seconds_until(
            lambda: load.acknowledged <= stored_event_counts(cluster.entry.http_url, DATABASE).keys(), 120.0
        )
    for replica in added:
        execute(replica.server, "SYSTEM SYNC REPLICA media_events_local")
    stored = stored_event_counts(cluster.entry.http_url, DATABASE)
    new_shard = [local_event_counts(replica.server) for replica in added]
    report = Report(
        "clickhouse shard added",
        {
            "shards": shards,
            "added_and_listed_everywhere_after_s": listed,
            "devices": devices,
            "load_s": load_seconds,
            "events_acknowledged": len(load.acknowledged),
            "acknowledged_missing": len(load.acknowledged - stored.keys()),
            "stored_more_than_once": sum(1 for event_id in load.acknowledged if stored[event_id] > 1),
            "events_on_the_new_shard": len(load.acknowledged & new_shard[0].keys()),
            "all_stored_after_load_s": all_stored,
        },
    )
    check(listed is not None, "a server does not list the new shard", report)
    check(bool(load.acknowledged) and not load.bad, f"ingest failed: {load.bad[:3]}", report)
    check(load.acknowledged <= stored.keys(), "acknowledged events missing", report)
    check(all(stored[event_id] == 1 for event_id in load.acknowledged), "events stored more than once", report)
    check(new_shard[0] == new_shard[1], "the new shard's replicas differ", report)
    check(bool(load.acknowledged & new_shard[0].keys()), "no event went to the new shard", report)
    return report


# The check ------------------------------------------------------------------------------------------------


def _run(name: str, scenario: Callable[[], Report], reports: list[Report], failures: list[str]) -> None:
    try:
        report = scenario()
    except CheckFailed as exc:
        failures.append(name)
        print(f"FAILED {name}: {exc}", flush=True)
        return
    except Exception:
        failures.append(name)
        print(f"FAILED {name}:", flush=True)
        traceback.print_exc()
        return
    reports.append(report)
    print(f"ok {report}", flush=True)


def main(load_seconds: float = 120.0, down_seconds: float = 40.0) -> bool:
    """Run the scenarios on a fresh cluster; print their figures; whether all held."""
    began = time.monotonic()
    reports: list[Report] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cluster-check-clickhouse-") as temp:
        root = Path(temp)
        keys = root / "keys"
        ensure_dev_keys(keys)
        ensure_telemetry_token_keys(keys)
        profile = prod_profile()
        cluster = ClickHouseCluster(root / "cluster", profile)
        single = ClickHouseServer(root / "single")
        try:
            cluster.start()
            single.start()
            started = round(time.monotonic() - began, 1)
            cluster_env = telemetry_env(cluster.entry, DATABASE, root / "spool-cluster", keys) | {
                "CLICKHOUSE_CLUSTER": CLUSTER
            }
            single_env = telemetry_env(single, DATABASE, root / "spool-single", keys)
            print(
                f"setup: zookeeper + {len(cluster.replicas)} servers (2 shards x 2 replicas) and one single server "
                f"started in {started}s; migrations: cluster {migrate(cluster_env)}s, single {migrate(single_env)}s; "
                f"profile of the prod overlay: {profile}",
                flush=True,
            )
            outage_env = cluster_env | {"SPOOL_DIR": str(root / "spool-outage")}
            _run(
                "replica outage",
                lambda: replica_outage_under_ingest(
                    cluster, outage_env, keys, load_seconds=load_seconds, down_seconds=down_seconds
                ),
                reports,
                failures,
            )
            cohort = dataset.patients()
            with telemetry_running(cluster_env) as cluster_url, telemetry_running(single_env) as single_url:
                _run(
                    "reads",
                    lambda: reads_match_single_server(cluster_url, single_url, cluster, single, keys, cohort),
                    reports,
                    failures,
                )
                _run("erasure", lambda: erasure_across_shards(cluster, cluster_url, keys, cohort), reports, failures)
            _run("retention", lambda: retention_across_shards(cluster, cluster_env), reports, failures)
            _run("retried block", lambda: retried_block_stored_once(cluster), reports, failures)
            _run("replica replaced", lambda: replica_replaced(cluster), reports, failures)
            shard_env = cluster_env | {"SPOOL_DIR": str(root / "spool-shard-added")}
            _run("shard added", lambda: shard_added(cluster, shard_env, keys, load_seconds=20.0), reports, failures)
        finally:
            cluster.stop()
            single.stop()
    print(
        f"clickhouse half: {len(reports)} scenarios held, {len(failures)} failed, {round(time.monotonic() - began)}s",
        flush=True,
    )
    return not failures

"""Both ClickHouse stores (the 18.16 server and chdb's 26.x) behave the same behind the one interface."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from telemetry.clickhouse.sql import render
from telemetry.clickhouse.store import ClickHouseError, ClickHouseStore, ServerFeatures

pytestmark = pytest.mark.anyio


async def test_columnar_insert_round_trips_arrays_uuids_and_times(store: ClickHouseStore) -> None:
    await store.execute(
        "CREATE TABLE samples (id UUID, at DateTime('UTC'), xs Array(Float32), label String) "
        "ENGINE = MergeTree ORDER BY (id, at)"
    )
    ids = [uuid.uuid4() for _ in range(3)]
    at = datetime.now(UTC).replace(microsecond=0)
    inserted = await store.insert(
        "samples",
        {"id": ids, "at": [at, at, at], "xs": [[0.5, 0.25], [], [1.0] * 33], "label": ["a", "b", "c"]},
    )

    rows = await store.select("SELECT id, at, xs, label FROM samples ORDER BY label")

    assert inserted == 3
    assert [row["id"] for row in rows] == ids
    assert [row["label"] for row in rows] == ["a", "b", "c"]
    assert [list(row["xs"]) for row in rows] == [[0.5, 0.25], [], [1.0] * 33]
    assert all(row["at"].replace(tzinfo=UTC) == at for row in rows)


HOSTILE_STRINGS = [
    "x' OR '1'='1",
    "a\\' OR 1=1 --",
    "a\\",
    "a\x00b",
    "a\nb\r\n\t",
    "{org_hash}",
    "' FORMAT JSON --",
    "é😀\u2028",
]


async def test_hostile_strings_reach_the_engine_as_the_bytes_sent(store: ClickHouseStore) -> None:
    await store.execute("CREATE TABLE labels (label String) ENGINE = MergeTree ORDER BY label")
    await store.insert("labels", {"label": HOSTILE_STRINGS})

    for value in HOSTILE_STRINGS:
        rows = await store.select(
            render("SELECT hex({value}) AS sent, count() AS matching FROM labels WHERE label = {value}", value=value)
        )
        assert rows == [{"sent": value.encode().hex().upper(), "matching": 1}], value


async def test_columns_of_different_lengths_are_refused_before_sending(store: ClickHouseStore) -> None:
    with pytest.raises(ValueError, match="differ in length"):
        await store.insert("anything", {"a": [1, 2], "b": [1]})


async def test_server_errors_carry_the_clickhouse_code(store: ClickHouseStore) -> None:
    with pytest.raises(ClickHouseError) as raised:
        await store.select("SELECT * FROM no_such_table")
    assert raised.value.code == 60  # UNKNOWN_TABLE, the same code on 18.16 and 26.x


async def test_identifiers_are_never_interpolated_unchecked(store: ClickHouseStore) -> None:
    with pytest.raises(ValueError, match="not a plain identifier"):
        await store.insert("samples; DROP TABLE x", {"a": [1]})


async def test_version_reports_the_engine(store: ClickHouseStore) -> None:
    features = ServerFeatures.parse(await store.server_version())
    if store.backend == "server":
        assert features.version == (18, 16)
        assert not features.ttl
        assert not features.datetime64
        assert not features.low_cardinality
    else:
        assert features.version >= (26, 1)
        assert features.ttl
        assert features.datetime64
        assert features.low_cardinality


async def test_a_read_longer_than_ten_thousand_sql_tokens_is_answered(store: ClickHouseStore) -> None:
    # A batch of evidence lookups is this long. aiochclient's sqlparse step refused it on the server.
    values = ", ".join(str(n) for n in range(6_000))
    rows = await store.select(f"SELECT count() AS found FROM numbers(20) WHERE number IN ({values}) AND number < 10")
    assert rows == [{"found": 10}]

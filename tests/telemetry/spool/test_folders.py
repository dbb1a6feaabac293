"""One spool folder shared by two processes: the request process appends, the flusher reads up to what the
appender published, moves the checkpoint, and the appender learns from it how full the spool is; request
processes each claim a folder of their own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from telemetry.spool.files import CommittedPosition
from telemetry.spool.reader import SpoolReader
from telemetry.spool.record import Position, encode_record
from telemetry.spool.spool import Spool, SpoolFullError, claim_folder

from tests.telemetry.helpers.spool_records import RecordingStore, flusher_of, open_spool, record


def accepting(spool: Spool) -> bool:
    return spool.accepting


def test_each_request_process_claims_a_folder_of_its_own_and_a_freed_one_is_taken_again(tmp_path: Path) -> None:
    first, first_lock = claim_folder(tmp_path)
    second, second_lock = claim_folder(tmp_path)
    assert (first.name, second.name) == ("0", "1")
    first_lock.close()  # the worker of folder 0 died; the one started in its place takes its folder

    third, third_lock = claim_folder(tmp_path)
    assert third.name == "0"
    second_lock.close()
    third_lock.close()


@pytest.mark.anyio
async def test_the_reader_reads_only_what_the_appender_published(tmp_path: Path, reader: SpoolReader) -> None:
    async with open_spool(tmp_path, record(1)) as spool:
        published = reader.committed
        # A record being written (not yet fsynced and published) is not complete for the reader: bytes past
        # the published end of the current segment are not read, even a whole frame.
        assert spool._file is not None
        spool._file.write(encode_record(record(2)))
        spool._file.flush()
        result = reader.read(reader.checkpoint, 100)
        assert [each.columns["n"][0] for each in result.records] == [1]
        assert result.end == published


@pytest.mark.anyio
async def test_a_full_spool_takes_appends_again_once_the_flusher_has_moved_its_checkpoint(
    tmp_path: Path, reader: SpoolReader
) -> None:
    size = len(encode_record(record(0)))
    store = RecordingStore()
    async with open_spool(tmp_path, record(1), record(2), max_bytes=2 * size) as spool:
        with pytest.raises(SpoolFullError):
            await spool.append(record(3))
        assert not accepting(spool)  # the readiness check

        await flusher_of(reader, store).drain()
        await asyncio.sleep(0.6)  # the appender looks at the checkpoint at most every half second

        assert accepting(spool)
        await spool.append(record(3))
    assert sorted(set(store.column("analytics_events", "n"))) == [1, 2]


@pytest.mark.anyio
async def test_a_stopping_flusher_inserts_what_is_appended_until_the_request_process_lets_go(
    tmp_path: Path, reader: SpoolReader
) -> None:
    store = RecordingStore()
    flusher = flusher_of(reader, store, interval_seconds=3600)
    flusher.start()
    async with open_spool(tmp_path, record(1)) as spool:
        # SIGTERM reaches both processes at once: the request process still finishes its requests in flight.
        stopping = asyncio.create_task(flusher.stop(deadline_seconds=10.0))
        await asyncio.sleep(0.3)
        await spool.append(record(2))
        await asyncio.sleep(0.3)
        assert not stopping.done()  # the appender still holds the folder
        await spool.close()
        await asyncio.wait_for(stopping, 5.0)
    assert sorted(set(store.column("analytics_events", "n"))) == [1, 2]


def test_a_torn_committed_position_is_not_taken_for_one(tmp_path: Path) -> None:
    published = CommittedPosition(tmp_path)
    published.publish(Position(3, 4096))
    assert published.read() == Position(3, 4096)
    with (tmp_path / "committed").open("r+b") as file:
        file.seek(8)
        file.write(b"\xff")  # a read that overlapped a publish sees a mix of old and new bytes
    assert published.read() is None
    published.close()

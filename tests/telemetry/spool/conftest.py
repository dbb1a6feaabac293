"""The flusher's side of a test's spool folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from telemetry.spool.reader import SpoolReader

from tests.telemetry.helpers.spool_records import reader_of


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[SpoolReader]:
    """A :class:`SpoolReader` open on ``tmp_path``, as the flusher holds it."""
    with reader_of(tmp_path) as opened:
        yield opened

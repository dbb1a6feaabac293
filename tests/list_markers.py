"""A pytest plugin for tests/test_markers.py (``-p tests.list_markers``): once the tests are collected and
marked, one line per test, ``needs <node id> <markers>``, with the markers of tests/markers.py it carries."""

from __future__ import annotations

import pytest

from tests.markers import MARKERS, UNIT


def pytest_collection_finish(session: pytest.Session) -> None:
    reporter: pytest.TerminalReporter = session.config.pluginmanager.getplugin("terminalreporter")
    for item in session.items:
        names = sorted({mark.name for mark in item.iter_markers()} & (MARKERS | {UNIT}))
        reporter.write_line(f"needs {item.nodeid} {' '.join(names)}")

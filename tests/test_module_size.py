"""No module of the services or the contracts is over 400 lines: a module that grows past that does more
than one job and is split along them (docs/architecture.md)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400


def test_no_source_module_is_over_400_lines() -> None:
    modules = [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("contracts/src/**/*.py")]
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in modules}
    assert len(sizes) > 200
    assert {path: lines for path, lines in sizes.items() if lines > MAX_LINES} == {}

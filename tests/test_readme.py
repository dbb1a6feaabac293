"""The README documents every environment variable the services read, with its default."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from core_api.settings import SETTINGS_PREFIXES as CORE_API_SETTINGS
from service_common.serve import ServerSettings
from service_common.settings import documented_variables
from telemetry.settings import SETTINGS_PREFIXES as TELEMETRY_SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()

ALL_SETTINGS: list[tuple[str, type[msgspec.Struct]]] = sorted(
    {*CORE_API_SETTINGS.items(), *TELEMETRY_SETTINGS.items(), ("SERVER_", ServerSettings)},
    key=lambda item: (item[0], item[1].__qualname__, item[1].__module__),
)


@pytest.mark.parametrize(("prefix", "settings"), ALL_SETTINGS)
def test_every_variable_is_in_the_readme_with_its_default(prefix: str, settings: type[msgspec.Struct]) -> None:
    for name, default in documented_variables(settings, prefix).items():
        row = next((line for line in README.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row is not None, f"README.md does not document {name}"
        if default not in (None, ""):
            assert f"`{default}`" in row, f"README.md gives {name} a default other than {default!r}"


def test_the_two_commands_come_first() -> None:
    run, test, configuration = (
        README.index("make run"),
        README.index("make test"),
        README.index("## Configuration"),
    )
    assert run < configuration
    assert test < configuration

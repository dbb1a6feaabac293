"""Settings come from the environment with defaults, lax conversion and the variable named on error."""

from __future__ import annotations

import msgspec
import pytest
from service_common.settings import SettingsError, documented_variables, from_env


class Example(msgspec.Struct, frozen=True):
    url: str = ""
    pool_size: int = 4
    enabled: bool = False
    origins: list[str] = msgspec.field(default_factory=list)


def test_defaults_when_unset_or_empty() -> None:
    assert from_env(Example, "EX_", {"EX_URL": ""}) == Example()


def test_values_are_converted_from_strings() -> None:
    settings = from_env(
        Example,
        "EX_",
        {
            "EX_URL": "postgresql://x",
            "EX_POOL_SIZE": "9",
            "EX_ENABLED": "true",
            "EX_ORIGINS": "https://a.example, https://b.example",
        },
    )
    assert settings == Example("postgresql://x", 9, True, ["https://a.example", "https://b.example"])


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="EX_POOL_SIZE"):
        from_env(Example, "EX_", {"EX_POOL_SIZE": "many"})


def test_documented_variables_lists_every_field_with_its_default() -> None:
    assert documented_variables(Example, "EX_") == {
        "EX_URL": "",
        "EX_POOL_SIZE": 4,
        "EX_ENABLED": False,
        "EX_ORIGINS": None,
    }

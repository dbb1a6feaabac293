"""Settings Structs read from the environment once, at start-up.

Each concern (database, ClickHouse, logging, ...) is one msgspec Struct whose fields map to environment
variables named ``PREFIX`` + ``FIELD_NAME`` in upper case, e.g. ``DatabaseSettings.url`` with prefix
``DATABASE_`` reads ``DATABASE_URL``. Values are converted with msgspec's lax mode, so ``"8"`` becomes
``8`` and ``"true"`` becomes ``True``; list fields take comma-separated values. A bad value fails start-up
with the variable's name in the message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar, get_origin

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


class SettingsError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def env_name(prefix: str, field_name: str) -> str:
    """The environment variable that sets ``field_name`` of a settings Struct with ``prefix``."""
    return f"{prefix}{field_name.upper()}"


def from_env(cls: type[S], prefix: str, environ: Mapping[str, str] | None = None) -> S:
    """Build ``cls`` from the variables in ``environ`` (default ``os.environ``) that carry ``prefix``.

    Variables that are unset or empty leave the field at its default.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for field in msgspec.structs.fields(cls):
        name = env_name(prefix, field.name)
        names[field.name] = name
        raw = env.get(name)
        if raw:
            is_list = get_origin(field.type) is list or field.type is list
            values[field.name] = [item.strip() for item in raw.split(",") if item.strip()] if is_list else raw
    try:
        return msgspec.convert(values, cls, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        for field_name, name in names.items():
            message = message.replace(f"`$.{field_name}`", name)
        raise SettingsError(f"invalid setting: {message}") from exc


def documented_variables(cls: type[msgspec.Struct], prefix: str) -> dict[str, Any]:
    """Every environment variable ``cls`` reads, with its default (``None`` when it has none)."""
    result: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        default = field.default if field.default is not msgspec.NODEFAULT else None
        result[env_name(prefix, field.name)] = default
    return result

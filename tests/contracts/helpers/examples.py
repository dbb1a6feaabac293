"""The examples that ``contracts`` states beside its Structs, for tests that start from them."""

from __future__ import annotations

import copy
import typing
from typing import Any

import msgspec


def example_of(alias: Any, number: int = 0) -> Any:
    """A copy of example ``number`` of the alias ``Annotated[<Struct>, Meta(examples=[...])]``."""
    for meta in typing.get_args(alias)[1:]:
        if isinstance(meta, msgspec.Meta) and meta.examples:
            return copy.deepcopy(meta.examples[number])
    raise LookupError(f"{alias} states no examples")

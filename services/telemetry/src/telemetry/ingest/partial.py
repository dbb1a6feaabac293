"""Partial acceptance of ingest batches: store the items that fit the contract, report the others.

A route decodes its body with the contracts' module-level decoder first; only when that raises
``msgspec.ValidationError`` does it fall back to this module, so a valid batch costs nothing more. The
body is then decoded again with the batch's items left raw (``msgspec.Raw``): a fault outside the items
(a pose batch's ``session_id``, an array over its bound, a beacon without events) still refuses the whole
body with the contract's own error. Each item is then decoded alone. A bad value a rule knows is coerced
or dropped and the item decoded again; any other bad value rejects the item, reported with its index, the
value's path and the validator's reason. When no item is left the body is refused
(:class:`RejectedBatch`, a 422 naming every item). A media event sent alone, not in an array, gets the
same rules and is refused with its fault. The rules and the decoders of each body are the features'
(``media/decode.py``, ``pose/decode.py``, ``beacon/decode.py``); docs/telemetry.md, "Partial batches",
lists the rules.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import msgspec
from contracts.decoding import BodyDecoder
from contracts.ingest_ack import IngestAck, RejectedItem

T = TypeVar("T")

Outcome = Literal["coerced", "dropped"]
# A rule takes the bad value and gives what to store instead and how to count it, or None when the value
# is not one it repairs (the item is then rejected).
Rule = Callable[[Any], tuple[Any, Outcome] | None]

# A label a device reads from its platform (`bluetooth`, `WIMAX`, `tvOS`): anything else is not a label.
_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def label_rule(
    literal: Any, fallback: str, *, null: str | None = None, aliases: Mapping[str, str] | None = None
) -> Rule:
    """The rule of a field whose values are the labels of ``literal``: a label in another case becomes the
    contract's, one of ``aliases`` its alias, any other label ``fallback``, and null ``null`` (when given);
    a value that is not a label (a number, 1 MB of text) is not repaired."""
    known = frozenset(get_args(literal))

    def repair(value: Any) -> tuple[Any, Outcome] | None:
        if value is None:
            return None if null is None else (null, "coerced")
        if not isinstance(value, str) or not _LABEL.match(value):
            return None
        label = value.lower()
        label = (aliases or {}).get(label, label)
        return (label if label in known else fallback), "coerced"

    return repair


@dataclass(frozen=True)
class ItemReport:
    """What became of a batch's items: the rejected ones, and the values coerced or dropped in the stored
    ones, counted per path within an item."""

    rejected: list[RejectedItem] = field(default_factory=list)
    coerced: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def acknowledge(self, ack: IngestAck) -> IngestAck:
        """``ack`` with this report; ``ack`` itself when every item was stored as sent."""
        if not (self.rejected or self.coerced or self.dropped):
            return ack
        return msgspec.structs.replace(
            ack, rejected=list(self.rejected), coerced=dict(self.coerced), dropped=dict(self.dropped)
        )


ALL_STORED = ItemReport()
"""The report of a batch whose every item was stored as sent (never mutated)."""


class RejectedBatch(msgspec.ValidationError):
    """No item of the batch fits the contract: the body is refused (422) naming each item's fault."""

    def __init__(self, rejected: Sequence[RejectedItem]) -> None:
        super().__init__("; ".join(f"{item.field}: {item.reason}" for item in rejected))
        self.rejected = list(rejected)


def problem_fields(exc: msgspec.ValidationError) -> list[dict[str, str]]:
    """The field errors of a refused body, as Litestar's ``ValidationException`` takes them: one per
    rejected item of a :class:`RejectedBatch`, else msgspec's one error (its path in the message)."""
    if isinstance(exc, RejectedBatch):
        return [{"message": item.reason, "key": item.field, "source": "body"} for item in exc.rejected]
    return [{"message": str(exc), "key": "", "source": "body"}]


# Decoding one item --------------------------------------------------------------------------------------

_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_any_json: BodyDecoder[Any] = BodyDecoder(Any)
_json = msgspec.json.Encoder()


def _fault(exc: msgspec.ValidationError) -> tuple[str, str]:
    """The path within the item (``data.connection_type``, ``''`` for the item itself) and the reason."""
    message = str(exc)
    match = _PATH.search(message)
    return (match.group("path"), message[: match.start()]) if match else ("", message)


def repair_item(
    decoder: BodyDecoder[T], raw: bytes | msgspec.Raw, rules: Mapping[str, Rule], error: msgspec.ValidationError
) -> tuple[T, dict[str, Outcome]]:
    """The item decoded once every fault a rule repairs is repaired, and the paths repaired; raises the
    first fault no rule repairs. Each path is repaired at most once, so this ends."""
    document: Any = None
    repaired: dict[str, Outcome] = {}
    while True:
        path, _ = _fault(error)
        rule = rules.get(path)
        if rule is None or path in repaired:
            raise error
        if document is None:
            document = _any_json.decode(raw)
        *parents, name = path.split(".")
        parent = document
        try:
            for step in parents:
                parent = parent[step]
            repair = rule(parent[name])
        except (KeyError, TypeError):
            # The generic decode keeps a repeated key's last value, the typed one met its first: `{"data":
            # {...}, "data": [1]}` has no value at the path to repair.
            raise error from None
        if repair is None:
            raise error
        parent[name], repaired[path] = repair
        try:
            return decoder.decode(_json.encode(document)), repaired
        except msgspec.ValidationError as exc:
            error = exc


def _at(prefix: str, path: str) -> str:
    """``path`` within the item at ``prefix`` as a path from the body's root."""
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def decode_items(
    decoder: BodyDecoder[T], items: Sequence[msgspec.Raw], rules: Mapping[str, Rule], where: str
) -> tuple[list[T], ItemReport]:
    """Each of ``items`` (the array at ``where`` in the body, ``''`` for the body itself) decoded alone:
    the items that fit, after the repairs ``rules`` make, and the report of the others."""
    kept: list[T] = []
    rejected: list[RejectedItem] = []
    repairs: list[dict[str, Outcome]] = []
    for index, raw in enumerate(items):
        try:
            kept.append(decoder.decode(raw))
            continue
        except msgspec.ValidationError as exc:
            error = exc
        try:
            item, repaired = repair_item(decoder, raw, rules, error)
        except msgspec.ValidationError as exc:
            path, reason = _fault(exc)
            rejected.append(RejectedItem(index=index, field=_at(f"{where}[{index}]", path), reason=reason))
            continue
        kept.append(item)
        repairs.append(repaired)
    return kept, item_report(rejected, repairs)


def item_report(rejected: list[RejectedItem], repairs: Sequence[Mapping[str, Outcome]]) -> ItemReport:
    """The report of a batch: ``rejected``, and the repairs of its stored items counted per path."""
    counts: dict[Outcome, Counter[str]] = {"coerced": Counter(), "dropped": Counter()}
    for repaired in repairs:
        for path, outcome in repaired.items():
            counts[outcome][path] += 1
    return ItemReport(rejected, dict(counts["coerced"]), dict(counts["dropped"]))


# Bodies -------------------------------------------------------------------------------------------------


def _raw_items(type_: Any) -> Any:
    """``Annotated[list[X], *meta]`` as ``Annotated[list[Raw], *meta]``: the same bounds, items undecoded."""
    assert get_origin(type_) is Annotated, type_
    array, *meta = get_args(type_)
    assert get_origin(array) is list, type_
    return Annotated[(list[msgspec.Raw], *meta)]


def with_raw_items(contract: type[msgspec.Struct], *arrays: str) -> type[msgspec.Struct]:
    """``contract`` with the items of its arrays ``arrays`` left undecoded: every other field, every
    bound and its ``__post_init__`` check as the contract has them."""
    fields: list[Any] = []
    for info in msgspec.structs.fields(contract):
        type_ = _raw_items(info.type) if info.name in arrays else info.type
        if info.required:
            fields.append((info.name, type_))
        elif info.default_factory is not msgspec.NODEFAULT:
            fields.append((info.name, type_, msgspec.field(default_factory=info.default_factory)))
        else:
            fields.append((info.name, type_, info.default))
    namespace = {"__post_init__": contract.__post_init__} if hasattr(contract, "__post_init__") else {}
    return msgspec.defstruct(f"{contract.__name__}Items", fields, kw_only=True, frozen=True, namespace=namespace)


def other_fields(items: msgspec.Struct, *arrays: str) -> dict[str, Any]:
    """The fields of a body decoded by :func:`with_raw_items` other than its ``arrays``."""
    return {name: getattr(items, name) for name in items.__struct_fields__ if name not in arrays}


def kept(items: list[T], report: ItemReport) -> list[T]:
    """``items`` when any is left; raises :class:`RejectedBatch` naming the rejected ones when none is."""
    if not items:
        raise RejectedBatch(report.rejected)
    return items

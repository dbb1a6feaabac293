"""Partial acceptance of ingest batches: store the items that fit the contract, report the others.

A route decodes its body with the contracts' module-level decoder first; only when that raises
``msgspec.ValidationError`` does it fall back to this module, so a valid batch costs nothing more. The
body is then decoded again with the batch's items left raw (``msgspec.Raw``): a fault outside the items
(a pose batch's ``session_id``, an array over its bound, a beacon without events) still refuses the whole
body with the contract's own error. Each item is then decoded alone. A bad value a rule below knows is
coerced or dropped and the item decoded again; any other bad value rejects the item, reported with its
index, the value's path and the validator's reason. When no item is left the body is refused
(:class:`RejectedBatch`, a 422 naming every item). A media event sent alone, not in an array, gets the
same rules and is refused with its fault. docs/telemetry.md, "Partial batches", lists the rules.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import msgspec
from contracts.decoding import BodyDecoder
from contracts.telemetry import (
    MEDIA_EVENT_BATCH_MAX,
    AnalyticsEvent,
    Beacon,
    ConnectionType,
    ExercisePhase,
    IngestAck,
    MediaEvent,
    Platform,
    PoseFrame,
    PoseFrameBatch,
    RejectedItem,
    analytics_event_decoder,
    beacon_decoder,
    decode_media_events,
    pose_batch_decoder,
)
from msgspec import Meta

T = TypeVar("T")

Outcome = Literal["coerced", "dropped"]
# A rule takes the bad value and gives what to store instead and how to count it, or None when the value
# is not one it repairs (the item is then rejected).
Rule = Callable[[Any], tuple[Any, Outcome] | None]

# A label a device reads from its platform (`bluetooth`, `WIMAX`, `tvOS`): anything else is not a label.
_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _label_rule(
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


def _megabits(value: Any) -> tuple[Any, Outcome] | None:
    """A bandwidth estimate outside 0-100 000 Mbit/s (a player's estimate in bit/s) is dropped to null."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None, "dropped"
    return None


# Rules by the path of the value within one item, as msgspec names it.
MEDIA_EVENT_RULES: Mapping[str, Rule] = {
    # navigator.connection.type also gives bluetooth, mixed, none, wimax; `none` (offline) has no network
    # to attribute the figures to, like `unknown`.
    "data.connection_type": _label_rule(ConnectionType, "other", null="unknown", aliases={"none": "unknown"}),
    "data.effective_bandwidth": _megabits,
    "data.platform": _label_rule(Platform, "other"),
}
POSE_FRAME_RULES: Mapping[str, Rule] = {"active_exercise_phase": _label_rule(ExercisePhase, "unknown", null="unknown")}
ANALYTICS_EVENT_RULES: Mapping[str, Rule] = {}


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


def _repair(
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
            item, repaired = _repair(decoder, raw, rules, error)
        except msgspec.ValidationError as exc:
            path, reason = _fault(exc)
            rejected.append(RejectedItem(index=index, field=_at(f"{where}[{index}]", path), reason=reason))
            continue
        kept.append(item)
        repairs.append(repaired)
    return kept, _report(rejected, repairs)


def _report(rejected: list[RejectedItem], repairs: Sequence[Mapping[str, Outcome]]) -> ItemReport:
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


def _with_raw_items(contract: type[msgspec.Struct], *arrays: str) -> type[msgspec.Struct]:
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


_media_items: BodyDecoder[list[msgspec.Raw]] = BodyDecoder(
    Annotated[list[msgspec.Raw], Meta(min_length=1, max_length=MEDIA_EVENT_BATCH_MAX)]
)
_media_event: BodyDecoder[MediaEvent] = BodyDecoder(MediaEvent)
_pose_batch_items: BodyDecoder[Any] = BodyDecoder(_with_raw_items(PoseFrameBatch, "frames"))
_pose_frame: BodyDecoder[PoseFrame] = BodyDecoder(PoseFrame)
_beacon_items: BodyDecoder[Any] = BodyDecoder(_with_raw_items(Beacon, "media_events", "analytics_events"))


def _others(items: msgspec.Struct, *arrays: str) -> dict[str, Any]:
    return {name: getattr(items, name) for name in items.__struct_fields__ if name not in arrays}


def decode_media_batch(body: bytes) -> tuple[list[MediaEvent], ItemReport]:
    """A ``POST /v1/media/events`` body as a list of the events to store, and the report of the others.

    Raises ``msgspec.DecodeError`` for malformed JSON, ``msgspec.ValidationError`` for a single event (not
    in an array) with a fault no rule repairs or an array that breaks the contract (empty, over 500), and
    :class:`RejectedBatch` when no event of the array is left.
    """
    try:
        return decode_media_events(body), ALL_STORED
    except msgspec.ValidationError as exc:
        if not body.lstrip().startswith(b"["):
            # One event alone: repaired by the same rules, else refused with its fault (nothing else to keep).
            event, repaired = _repair(_media_event, body, MEDIA_EVENT_RULES, exc)
            return [event], _report([], [repaired])
    events, report = decode_items(_media_event, _media_items.decode(body), MEDIA_EVENT_RULES, "")
    if not events:
        raise RejectedBatch(report.rejected)
    return events, report


def decode_pose_batch(body: bytes) -> tuple[PoseFrameBatch, ItemReport]:
    """A ``POST /v1/pose/frames`` body with the frames to store, and the report of the others.

    Raises ``msgspec.DecodeError`` for malformed JSON, ``msgspec.ValidationError`` for a fault outside the
    frames (``session_id``, ``media_id``, ``visibility_kind``, more than 300 frames), and
    :class:`RejectedBatch` when no frame is left.
    """
    try:
        return pose_batch_decoder.decode(body), ALL_STORED
    except msgspec.ValidationError:
        items = _pose_batch_items.decode(body)
    frames, report = decode_items(_pose_frame, items.frames, POSE_FRAME_RULES, "frames")
    if not frames:
        raise RejectedBatch(report.rejected)
    return PoseFrameBatch(**_others(items, "frames"), frames=frames), report


def decode_beacon(body: bytes) -> tuple[Beacon, ItemReport, ItemReport]:
    """A ``POST /v1/beacon`` body with the events to store, and the reports of its media and analytics
    events.

    Raises ``msgspec.DecodeError`` for malformed JSON, ``msgspec.ValidationError`` for a fault outside the
    events (the token, the key, no event at all, too many), and :class:`RejectedBatch` when no event of
    either kind is left.
    """
    try:
        return beacon_decoder.decode(body), ALL_STORED, ALL_STORED
    except msgspec.ValidationError:
        items = _beacon_items.decode(body)
    media, media_report = decode_items(_media_event, items.media_events, MEDIA_EVENT_RULES, "media_events")
    analytics: list[AnalyticsEvent]
    analytics, analytics_report = decode_items(
        analytics_event_decoder, items.analytics_events, ANALYTICS_EVENT_RULES, "analytics_events"
    )
    if not media and not analytics:
        raise RejectedBatch(media_report.rejected + analytics_report.rejected)
    beacon = Beacon(
        **_others(items, "media_events", "analytics_events"), media_events=media, analytics_events=analytics
    )
    return beacon, media_report, analytics_report

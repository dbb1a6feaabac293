"""CMCD v2 event-mode reports (CTA-5004-B) read from a collector request's body, each checked on its own.

A player in CMCD event mode POSTs reports to a collector: ``Content-Type: application/cmcd`` (``text/cmcd``
before the type was registered), one report per line, each an RFC 8941 dictionary
(``e=ps,sid="…",sta=p,ts=1771232402000,v=2``, read by ``structured_fields.py``); some collectors also take a
JSON array of objects with the same keys. :func:`read_body` turns the body into :class:`CmcdReport` s in the
contract's units; ``cmcd_events.py`` maps them onto media events. docs/telemetry.md, "CMCD", has the key
table and its units.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from contracts.decoding import BodyDecoder
from contracts.ingest_ack import RejectedItem
from contracts.media_events import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MEDIA_EVENT_BATCH_MAX, MediaType

from telemetry.media.structured_fields import InnerList, Item, Member, StructuredFieldError, parse_dictionary

CMCD_SESSION_NAMESPACE = uuid.UUID("32929f4b-9727-49eb-9e1d-6b9ca156d342")
"""A ``sid`` that is not a UUID becomes ``uuid5(CMCD_SESSION_NAMESPACE, sid)`` (docs/telemetry.md)."""
CMCD_REPORTS_MAX = MEDIA_EVENT_BATCH_MAX
"""Reports one request may carry."""

_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_HASHED_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_NOT_CDN = re.compile(r"[^A-Za-z0-9_.-]")
_NOT_ERROR_CODE = re.compile(r"[^A-Za-z0-9_.:-]")
_PRINTABLE = re.compile(r"^[ -~]*$")
_STATES = frozenset("spkrawefqd")
_VIDEO_FLAGS = ("v", "av")
# The contracts' bounds, in CMCD's units.
MS_MAX = 86_400_000  # Milliseconds; also MediaSeconds (86 400 s) as a playhead time in ms
_COUNT_MAX = 100_000_000  # Count
_KBPS_MAX = 1_000_000  # BitsPerSecond's 10^9 bit/s
_THROUGHPUT_KBPS_MAX = 100_000_000  # effective_bandwidth's 100 000 Mbit/s

T = TypeVar("T")

_any_json: BodyDecoder[Any] = BodyDecoder(Any)


class ReportError(ValueError):
    """One report breaks CTA-5004-B or the media contract; ``key`` names the CMCD key ('' for the line)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason

    def rejected(self, index: int) -> RejectedItem:
        """The rejected item of the report at ``index``: ``[3].sta``, or ``[3]`` for the whole line."""
        return RejectedItem(
            index=index, field=f"[{index}].{self.key}" if self.key else f"[{index}]", reason=self.reason
        )


class MalformedBody(ValueError):
    """The body is not UTF-8 text, or not JSON when sent as JSON (a 400)."""


class BodyError(ValueError):
    """The body holds no report, or too many (a 422)."""


@dataclass(frozen=True)
class CmcdReport:
    """What the service reads of one report, in the contract's units."""

    event: str  # e
    at: datetime  # ts
    session_id: uuid.UUID  # sid
    state: str | None  # sta
    media_id: str | None  # cid
    media_type: MediaType  # ot
    startup_ms: int | None  # msd
    bitrate: int | None  # br, bit/s
    bandwidth_mbps: float | None  # mtp, Mbit/s
    stalls_ms: tuple[int, ...]  # bsd
    stall_count: int | None  # bsa
    stall_total_ms: int | None  # bsda
    dropped_frames: int | None  # dfa (df in drafts)
    position_seconds: float | None  # pt
    cdn: str | None  # cdn
    error_codes: tuple[str, ...]  # ec


# Reading the body ---------------------------------------------------------------------------------------


def read_body(body: bytes, *, as_json: bool) -> tuple[list[tuple[int, CmcdReport]], list[RejectedItem]]:
    """The reports of a body that can be read, each with its index, and the others as rejected items.

    Raises :class:`MalformedBody` when the body is not UTF-8 text (not JSON, for ``as_json``), and
    :class:`BodyError` when it holds no report or more than :data:`CMCD_REPORTS_MAX`.
    """
    raw = _json_reports(body) if as_json else _lines(body)
    if not raw:
        raise BodyError("the body holds no report")
    if len(raw) > CMCD_REPORTS_MAX:
        raise BodyError(f"a request carries at most {CMCD_REPORTS_MAX} reports, this one {len(raw)}")
    reports: list[tuple[int, CmcdReport]] = []
    rejected: list[RejectedItem] = []
    for index, item in enumerate(raw):
        try:
            members = _json_members(item) if as_json else _line_members(item)
            reports.append((index, read_report(members)))
        except ReportError as exc:
            rejected.append(exc.rejected(index))
    return reports, rejected


def _lines(body: bytes) -> list[str]:
    """The body's non-blank lines (LF or CRLF; a last line feed or none)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"the body is not UTF-8 text (byte {exc.start})") from exc
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def _json_reports(body: bytes) -> list[Any]:
    """A JSON array of report objects, or one object alone."""
    try:
        document = _any_json.decode(body)
    except msgspec.DecodeError as exc:
        raise MalformedBody(f"the body is not valid JSON: {exc}") from exc
    return document if isinstance(document, list) else [document]


def _line_members(line: str) -> dict[str, Member]:
    try:
        return parse_dictionary(line)
    except StructuredFieldError as exc:
        raise ReportError("", f"not a CMCD report (RFC 8941 dictionary): {exc}") from exc


def _json_members(report: Any) -> dict[str, Member]:
    """A JSON object's keys as dictionary members: a number, string or boolean an item, an array of them an
    inner list (a whole number sent as 2000.0 is the integer 2000)."""
    if not isinstance(report, dict):
        raise ReportError("", "a report is a JSON object")
    return {key: _json_member(key, value) for key, value in report.items()}


def _json_member(key: str, value: Any) -> Member:
    if isinstance(value, list):
        return InnerList([_json_item(key, entry) for entry in value])
    return _json_item(key, value)


def _json_item(key: str, value: Any) -> Item:
    """An item of a JSON report, held to what the line form can carry: strings of printable ASCII."""
    if isinstance(value, float) and value.is_integer():
        return Item(int(value))
    if isinstance(value, str) and not _PRINTABLE.match(value):
        raise ReportError(key, "a string holds printable ASCII only (as in the line form)")
    if isinstance(value, bool | int | float | str):
        return Item(value)
    raise ReportError(key, "must be a number, a string, a boolean or an array of them")


# One report ---------------------------------------------------------------------------------------------


def read_report(members: dict[str, Member]) -> CmcdReport:
    """The report's keys the service maps, checked and converted; other keys are ignored."""
    version = _integer(members, "v", 1, 1_000)
    if version == 1:
        raise ReportError("v", "CMCD version 1 has no event mode; event reports carry v=2")
    event = _text(members, "e", 16)
    if event is None:
        raise ReportError("e", "required: every event-mode report names its event type")
    state = _text(members, "sta", 1)
    if state is not None and state not in _STATES:
        raise ReportError("sta", "must be one of the player states s, p, k, r, a, w, e, f, q, d")
    if event == "ps" and state is None:
        raise ReportError("sta", "required on a play-state report (e=ps)")
    ts = _integer(members, "ts", 0, 10**15)
    if ts is None:
        raise ReportError("ts", "required: when the event happened, in milliseconds since the Unix epoch")
    at = datetime.fromtimestamp(ts / 1000, UTC)
    if not EARLIEST_TIMESTAMP <= at < LATEST_TIMESTAMP:
        raise ReportError("ts", "must be from 2000-01-01 to before 2100-01-01 (UTC)")
    sid = _text(members, "sid", 64)
    if not sid:
        raise ReportError("sid", "required: the playback session, 1-64 characters")
    media_id = _text(members, "cid", 128)
    if media_id is not None and not _HASHED_ID.match(media_id):
        raise ReportError("cid", "must be the media's hashed id: 1-128 of A-Z, a-z, 0-9, '_' and '-'")
    bitrate = _picked(members, "br", _KBPS_MAX)
    if event == "bc" and bitrate is None:
        raise ReportError("br", "required on a bitrate-change report (e=bc)")
    error_codes = _error_codes(members)
    if event == "e" and not error_codes:
        raise ReportError("ec", "required on an error report (e=e)")
    bandwidth = _picked(members, "mtp", _THROUGHPUT_KBPS_MAX)
    position = _integer(members, "pt", 0, MS_MAX)
    media_type = _text(members, "ot", 2)
    cdn = _text(members, "cdn", 128)
    return CmcdReport(
        event=event,
        at=at,
        session_id=uuid.UUID(sid) if _UUID.match(sid) else uuid.uuid5(CMCD_SESSION_NAMESPACE, sid),
        state=state,
        media_id=media_id,
        media_type="audio" if media_type == "a" else "video",
        startup_ms=_integer(members, "msd", 0, MS_MAX),
        bitrate=None if bitrate is None else bitrate * 1000,
        bandwidth_mbps=None if bandwidth is None else bandwidth / 1000,
        stalls_ms=tuple(_integers(members, "bsd", MS_MAX)),
        stall_count=_summed(members, "bsa", _COUNT_MAX),
        stall_total_ms=_summed(members, "bsda", MS_MAX),
        dropped_frames=_first(_integer(members, "dfa", 0, _COUNT_MAX), _integer(members, "df", 0, _COUNT_MAX)),
        position_seconds=None if position is None else position / 1000,
        cdn=(_NOT_CDN.sub("_", cdn)[:64] or None) if cdn else None,
        error_codes=error_codes,
    )


def _first(value: int | None, fallback: int | None) -> int | None:
    return fallback if value is None else value


def _items(members: dict[str, Member], key: str) -> list[Item]:
    """The items of ``key``: one for a plain item (CMCD v1's form of the list keys), each of an inner list."""
    member = members.get(key)
    if member is None:
        return []
    return member.items if isinstance(member, InnerList) else [member]


def _scalar(members: dict[str, Member], key: str, kind: type[T], what: str) -> T | None:
    member = members.get(key)
    if member is None:
        return None
    value = member.value if isinstance(member, Item) else None
    # bool is an int in Python; CMCD's booleans are never numbers.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ReportError(key, f"must be {what}")
    return value


def _integer(members: dict[str, Member], key: str, low: int, high: int) -> int | None:
    value = _scalar(members, key, int, "an integer")
    if value is not None and not low <= value <= high:
        raise ReportError(key, f"must be from {low} to {high}")
    return value


def _text(members: dict[str, Member], key: str, max_length: int) -> str | None:
    value = _scalar(members, key, str, "a string or token")
    if value is not None and len(value) > max_length:
        raise ReportError(key, f"must be at most {max_length} characters")
    return value


def _integers(members: dict[str, Member], key: str, high: int) -> list[int]:
    values = [item.value for item in _items(members, key)]
    if not all(isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high for value in values):
        raise ReportError(key, f"must be integers from 0 to {high}")
    return [int(value) for value in values]


def _picked(members: dict[str, Member], key: str, high: int) -> int | None:
    """The video entry (flagged ``v`` or ``av``) of a list of per-object-type values, else its first."""
    items = _items(members, key)
    values = _integers(members, key, high)
    for item, value in zip(items, values, strict=True):
        if any(item.params.get(flag) is True for flag in _VIDEO_FLAGS):
            return value
    return values[0] if values else None


def _summed(members: dict[str, Member], key: str, high: int) -> int | None:
    values = _integers(members, key, high)
    if not values:
        return None
    total = sum(values)
    if total > high:
        raise ReportError(key, f"must add up to at most {high}")
    return total


def _error_codes(members: dict[str, Member]) -> tuple[str, ...]:
    """The player's error codes, each fitted to the contract's code: other characters become '_', cut to 64."""
    codes: list[str] = []
    for item in _items(members, "ec"):
        if not isinstance(item.value, str) or not item.value:
            raise ReportError("ec", "must be non-empty strings")
        codes.append(_NOT_ERROR_CODE.sub("_", item.value)[:64])
    return tuple(codes)

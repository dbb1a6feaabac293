"""CMCD v2 event-mode reports (``cmcd_reports.py``) as the media events of ``contracts.media_events``, so the
rows ``media/columns.py`` makes of them are those of hand-written events. docs/telemetry.md, "CMCD", has
the mapping table.

The service keeps no state between requests. A report maps on its own (``sta=s`` is a ``play_intent``,
``sta=r`` a ``buffering_start``, ``bsd`` a ``buffering_end`` with its duration, ``e=t`` a ``heartbeat``, …);
only a few mappings need the report before it, and look for it in the same request: the first frame when
``msd`` was not sent, the end of a seek (``k`` then ``p``), the end of a stall when ``bsd`` was not sent, and
a quality change's previous bitrate.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from contracts.ingest_ack import RejectedItem
from contracts.media_event_data import (
    MediaBufferingEndData,
    MediaBufferingStartData,
    MediaErrorData,
    MediaHeartbeatData,
    MediaPlayIntentData,
    MediaQualityChangeData,
    MediaSessionEndData,
    MediaSessionStartData,
    StallCause,
)
from contracts.media_events import (
    MediaBufferingEnd,
    MediaBufferingStart,
    MediaError,
    MediaEvent,
    MediaHeartbeat,
    MediaPlayIntent,
    MediaQualityChange,
    MediaSessionEnd,
    MediaSessionStart,
)

from telemetry.media.cmcd_reports import MS_MAX, CmcdReport, ReportError


@dataclass
class _View:
    """What the reports before this one in the request said of one playback session."""

    state: str | None = None
    since: datetime | None = None
    started: bool = False
    media_id: str | None = None
    bitrate: int = 0


def media_events(reports: Sequence[tuple[int, CmcdReport]]) -> tuple[list[MediaEvent], list[RejectedItem]]:
    """The media events of ``reports`` (in the order sent), and the reports that cannot make theirs: one that
    starts a view (``sta=s``, the first ``sta=p``) needs ``cid`` unless an earlier report of the request named
    it."""
    views: dict[uuid.UUID, _View] = {}
    events: list[MediaEvent] = []
    rejected: list[RejectedItem] = []
    for index, report in reports:
        view = views.setdefault(report.session_id, _View())
        try:
            made = _report_events(report, view)
        except ReportError as exc:
            rejected.append(exc.rejected(index))
            continue
        events.extend(made)
        _remember(report, view)
    return events, rejected


def _remember(report: CmcdReport, view: _View) -> None:
    if report.state is not None and report.event == "ps":
        if report.state == "p" and (report.startup_ms is not None or view.state == "s"):
            view.started = True
        if report.state != view.state:
            view.state, view.since = report.state, report.at
    view.media_id = report.media_id or view.media_id
    view.bitrate = report.bitrate if report.bitrate is not None else view.bitrate


def _report_events(report: CmcdReport, view: _View) -> list[MediaEvent]:
    made: list[MediaEvent] = [_stall_end(report, duration, "playback") for duration in report.stalls_ms]
    builder = _BY_EVENT.get(report.event)
    if builder is not None:
        made.extend(builder(report, view))
    return made


def _event(kind: Callable[..., MediaEvent], report: CmcdReport, data: Any, media_id: str | None = None) -> MediaEvent:
    """A ``kind`` event of ``report``'s view at its ``ts`` carrying ``data``; ``media_id``, when given, in place
    of the report's ``cid``."""
    return kind(
        session_id=report.session_id,
        media_id=report.media_id if media_id is None else media_id,
        media_type=report.media_type,
        timestamp=report.at,
        data=data,
    )


def _view_media_id(report: CmcdReport, view: _View) -> str:
    media_id = report.media_id or view.media_id
    if media_id is None:
        raise ReportError("cid", "required on the report that starts a view (sta=s, first sta=p): the media's id")
    return media_id


def _ms_since(since: datetime | None, at: datetime) -> int:
    if since is None:
        return 0
    return min(max(round((at - since).total_seconds() * 1000), 0), MS_MAX)


def _play_state(report: CmcdReport, view: _View) -> list[MediaEvent]:
    if report.state == "s":
        return [_play_intent(report, view)]
    if report.state == "p":
        return _playing(report, view)
    if report.state in ("k", "r"):
        return [_stall_start(report, "seek" if report.state == "k" else "playback")]
    if report.state in ("e", "q"):
        return [_session_end(report, "ended" if report.state == "e" else "user_exit")]
    if report.state == "f":
        return _errors(report, report.error_codes or ("cmcd_fatal",), fatal=True)
    return []  # a (paused), w (waiting), d (preloading)


def _playing(report: CmcdReport, view: _View) -> list[MediaEvent]:
    """``sta=p``: the first frame (it carries ``msd``, or follows ``s`` in the request), the end of a stall
    whose ``bsd`` was not sent or of a seek when the request holds its start, else nothing (a resume)."""
    if not view.started and (report.startup_ms is not None or view.state == "s"):
        return [_session_start(report, view)]
    if view.state == "r" and not report.stalls_ms:
        return [_stall_end(report, _ms_since(view.since, report.at), "playback")]
    if view.state == "k":
        return [_stall_end(report, _ms_since(view.since, report.at), "seek")]
    return []


def _play_intent(report: CmcdReport, view: _View) -> MediaEvent:
    data = MediaPlayIntentData(cdn=report.cdn, effective_bandwidth=report.bandwidth_mbps)
    return _event(MediaPlayIntent, report, data, _view_media_id(report, view))


def _session_start(report: CmcdReport, view: _View) -> MediaEvent:
    startup = report.startup_ms if report.startup_ms is not None else _ms_since(view.since, report.at)
    data = MediaSessionStartData(
        total_duration_seconds=0.0,
        cdn_response_time_ms=0,
        video_load_time_ms=startup,
        cdn=report.cdn,
        effective_bandwidth=report.bandwidth_mbps,
    )
    return _event(MediaSessionStart, report, data, _view_media_id(report, view))


def _stall_start(report: CmcdReport, cause: StallCause) -> MediaEvent:
    data = MediaBufferingStartData(position_seconds=report.position_seconds or 0.0, cause=cause)
    return _event(MediaBufferingStart, report, data)


def _stall_end(report: CmcdReport, duration_ms: int, cause: StallCause) -> MediaEvent:
    data = MediaBufferingEndData(position_seconds=report.position_seconds or 0.0, duration_ms=duration_ms, cause=cause)
    return _event(MediaBufferingEnd, report, data)


def _session_end(report: CmcdReport, reason: Literal["ended", "user_exit"]) -> MediaEvent:
    data = MediaSessionEndData(
        watched_duration_seconds=report.position_seconds or 0.0,
        completion_percent=100.0 if reason == "ended" else 0.0,
        buffering_count=report.stall_count or 0,
        buffering_duration_ms=report.stall_total_ms or 0,
        completed=reason == "ended",
        exit_reason=reason,
    )
    return _event(MediaSessionEnd, report, data)


def _errors(report: CmcdReport, codes: Sequence[str], *, fatal: bool) -> list[MediaEvent]:
    return [
        _event(MediaError, report, MediaErrorData(code=code, fatal=fatal, position_seconds=report.position_seconds))
        for code in codes
    ]


def _error(report: CmcdReport, _: _View) -> list[MediaEvent]:
    return _errors(report, report.error_codes, fatal=report.state == "f")


def _heartbeat(report: CmcdReport, _: _View) -> list[MediaEvent]:
    position = report.position_seconds or 0.0
    data = MediaHeartbeatData(
        position_seconds=position,
        watched_duration_seconds=position,
        completion_percent=0.0,
        buffering_count=report.stall_count or 0,
        buffering_duration_ms=report.stall_total_ms or 0,
        current_bitrate=report.bitrate or 0,
        dropped_frames=report.dropped_frames if report.media_type == "video" else None,
    )
    return [_event(MediaHeartbeat, report, data)]


def _bitrate_change(report: CmcdReport, view: _View) -> list[MediaEvent]:
    data = MediaQualityChangeData(from_bitrate=view.bitrate, to_bitrate=report.bitrate or 0, reason="abr")
    return [_event(MediaQualityChange, report, data)]


_BY_EVENT: dict[str, Callable[[CmcdReport, _View], list[MediaEvent]]] = {
    "ps": _play_state,
    "e": _error,
    "t": _heartbeat,
    "bc": _bitrate_change,
}
"""The event types that make media events; the others (rr, m, um, pe, pc, b, c, h, pr, ce, ads, sk) none."""

"""The shared decoders refuse deep nesting with msgspec's own error, wherever msgspec meets it.

A service maps msgspec's errors to a 400/422 problem response; any other exception (here a RecursionError)
would be a 500. That no input gives any other exception is fuzzed in test_decoder_fuzz.py.
"""

from typing import Any

import msgspec
import pytest
from contracts.analytics import AnalyticsEvent, analytics_event_decoder
from contracts.decoding import BodyDecoder
from contracts.error_reports import error_report_decoder
from contracts.media_events import media_events_decoder
from contracts.plans import TreatmentPlanCreate, TreatmentPlanUpdate
from contracts.pose import pose_batch_decoder

DECODERS: dict[str, BodyDecoder[Any]] = {
    "media_events": media_events_decoder,
    "pose_batch": pose_batch_decoder,
    "analytics_event": analytics_event_decoder,
    "error_report": error_report_decoder,
    "plan_create": BodyDecoder(TreatmentPlanCreate),
    "plan_update": BodyDecoder(TreatmentPlanUpdate),
}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Places where msgspec skips a value it does not need: an unknown field, the fields before a tagged
# union's tag, and a field of an object it will reject anyway.
DEEP_BODIES = {
    "media_events": f'{{"junk": {nested(5000)}, "event": "heartbeat"}}',
    "pose_batch": f'{{"junk": {nested(5000)}, "session_id": "x"}}',
    "analytics_event": f'[{{"junk": {nested(5000)}}}]',
    "error_report": f'{{"junk": {nested(5000)}}}',
    "plan_create": nested(5000),
    "plan_update": f'{{"name": {nested(5000)}}}',
}


@pytest.mark.parametrize("name", DECODERS)
def test_deep_nesting_is_a_decode_error(name: str) -> None:
    with pytest.raises(msgspec.DecodeError):
        DECODERS[name].decode(DEEP_BODIES[name].encode())


def test_unwrapped_msgspec_decoder_overflows_on_deep_nesting() -> None:
    # Pins the reason BodyDecoder exists; if msgspec starts bounding its depth, the wrapper can go.
    with pytest.raises(RecursionError):
        msgspec.json.Decoder(AnalyticsEvent).decode(DEEP_BODIES["error_report"].encode())


def test_deep_but_valid_bodies_still_decode() -> None:
    event = analytics_event_decoder.decode(
        b'{"event_name": "a.b", "event_category": "a", "timestamp": "2026-02-16T09:00:00Z",'
        b' "resource_type": "a", "resource_id": "1", "future_field": [[[1]]]}'
    )
    assert event.properties == {}

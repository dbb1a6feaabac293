"""Whatever bytes arrive, the shared decoders fail only with msgspec's own errors.

A service maps those two errors to a 400/422 problem response; any other exception would be a 500.
"""

import contextlib
import json
from typing import Any

import msgspec
import pytest
from contracts.analytics import AnalyticsEvent, analytics_event_decoder
from contracts.decoding import BodyDecoder
from contracts.error_reports import error_report_decoder
from contracts.media_events import media_events_decoder
from contracts.plans import TreatmentPlanCreate, TreatmentPlanUpdate
from contracts.pose import pose_batch_decoder
from hypothesis import given, settings
from hypothesis import strategies as st

DECODERS: dict[str, BodyDecoder[Any]] = {
    "media_events": media_events_decoder,
    "pose_batch": pose_batch_decoder,
    "analytics_event": analytics_event_decoder,
    "error_report": error_report_decoder,
    "plan_create": BodyDecoder(TreatmentPlanCreate),
    "plan_update": BodyDecoder(TreatmentPlanUpdate),
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=30,
)


def decode_expecting_only_msgspec_errors(decoder: BodyDecoder[Any], body: bytes) -> None:
    # Anything else propagates and fails the test.
    with contextlib.suppress(msgspec.ValidationError, msgspec.DecodeError):
        decoder.decode(body)


def test_msgspec_errors_share_one_base() -> None:
    # Services can catch DecodeError alone: ValidationError is a DecodeError, both are MsgspecErrors.
    assert issubclass(msgspec.ValidationError, msgspec.DecodeError)
    assert issubclass(msgspec.DecodeError, msgspec.MsgspecError)


@pytest.mark.parametrize("name", DECODERS)
@settings(max_examples=300)
@given(body=st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_msgspec_errors(name: str, body: bytes) -> None:
    decode_expecting_only_msgspec_errors(DECODERS[name], body)


@pytest.mark.parametrize("name", DECODERS)
@settings(max_examples=200)
@given(value=json_values)
def test_arbitrary_json_raises_only_msgspec_errors(name: str, value: object) -> None:
    decode_expecting_only_msgspec_errors(DECODERS[name], json.dumps(value).encode())


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

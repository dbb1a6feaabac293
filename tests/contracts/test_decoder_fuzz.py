"""Hypothesis fuzzing of the decoders that read untrusted bodies: the four telemetry ingest decoders, the
strict-request hook's JSON decoder and the shared ``BodyDecoder`` on core-api's largest bodies (a plan's
create and update). Whatever the bytes, the answer is a decoded value or msgspec's own
``DecodeError`` (``ValidationError`` is a subclass): never another exception, which an API would turn
into a 500.

Three kinds of input per decoder: arbitrary bytes; arbitrary JSON-ish documents (NaN and Infinity
literals, deep nesting, unicode, huge numbers); and valid bodies with one value replaced by such a
document, removed, or with a few bytes spliced in, so that examples reach the validation of every field.
Derandomized, so CI sees the same examples every run.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from contracts.analytics import analytics_event_decoder
from contracts.decoding import BodyDecoder
from contracts.error_reports import error_report_decoder
from contracts.media_events import decode_media_events
from contracts.plans import TreatmentPlanCreate, TreatmentPlanCreateBody, TreatmentPlanUpdate, TreatmentPlanUpdateBody
from contracts.pose import pose_batch_decoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_common.strict_requests import _json as strict_request_decoder

from tests.contracts.helpers.examples import example_of
from tests.service_common.json_paths import paths
from tests.telemetry.helpers.payloads import ANALYTICS_EVENT, ERROR_REPORT, media_events, pose_batch, pose_frame

EXAMPLES = 200
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

Decode = Callable[[bytes], Any]
DECODERS: dict[str, tuple[Decode, Any]] = {
    "media-events": (decode_media_events, media_events()),
    "pose-batch": (pose_batch_decoder.decode, pose_batch(pose_frame(1), pose_frame(2))),
    "analytics": (analytics_event_decoder.decode, ANALYTICS_EVENT),
    "error-report": (error_report_decoder.decode, ERROR_REPORT),
    "strict-request": (strict_request_decoder.decode, ANALYTICS_EVENT),
    "plan-create": (BodyDecoder(TreatmentPlanCreate).decode, example_of(TreatmentPlanCreateBody)),
    "plan-update": (BodyDecoder(TreatmentPlanUpdate).decode, example_of(TreatmentPlanUpdateBody)),
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", "\u0000", "2026-02-16T09:03:00Z", "550e8400-e29b-41d4-a716-446655440000", "session_start"])
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)


def encode(document: Any) -> bytes:
    # json, not msgspec: it writes NaN and Infinity literals, which JSON forbids and a decoder must refuse.
    return json.dumps(document).encode()


REMOVE = object()
"""A replacement that deletes the value (a required field missing, a list one item shorter)."""


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return None if new is REMOVE else new
    copy = json.loads(json.dumps(value))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if new is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


def decodes_or_refuses(decode: Decode, body: bytes) -> None:
    with contextlib.suppress(msgspec.DecodeError):
        decode(body)


@pytest.mark.parametrize("name", sorted(DECODERS))
@FUZZ
@given(body=st.binary(max_size=2_000))
def test_arbitrary_bytes(name: str, body: bytes) -> None:
    decodes_or_refuses(DECODERS[name][0], body)


@pytest.mark.parametrize("name", sorted(DECODERS))
@FUZZ
@given(document=documents)
def test_arbitrary_json_documents(name: str, document: Any) -> None:
    decodes_or_refuses(DECODERS[name][0], encode(document))


@pytest.mark.parametrize("name", sorted(DECODERS))
@FUZZ
@given(data=st.data(), new=st.just(REMOVE) | documents)
def test_valid_bodies_with_one_value_replaced(name: str, data: st.DataObject, new: Any) -> None:
    decode, valid = DECODERS[name]
    path = data.draw(st.sampled_from(list(paths(valid))))
    decodes_or_refuses(decode, encode(replaced(valid, path, new)))


@pytest.mark.parametrize("name", sorted(DECODERS))
@FUZZ
@given(data=st.data(), spliced=st.binary(min_size=1, max_size=8))
def test_valid_bodies_with_bytes_spliced_in(name: str, data: st.DataObject, spliced: bytes) -> None:
    decode, valid = DECODERS[name]
    body = encode(valid)
    at = data.draw(st.integers(min_value=0, max_value=len(body)))
    decodes_or_refuses(decode, body[:at] + spliced + body[at:])


@pytest.mark.parametrize("name", sorted(DECODERS))
@pytest.mark.parametrize("depth", [100, 1_000, 10_000, 100_000])
@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
def test_deep_nesting_anywhere(name: str, depth: int, opener: bytes) -> None:
    closer = b"]" if opener == b"[" else b"}"
    nested = opener * depth + b"1" + closer * depth
    for body in (nested, b'{"data": ' + nested + b', "event": "heartbeat"}', b'{"unknown": ' + nested + b"}"):
        decodes_or_refuses(DECODERS[name][0], body)

"""The shared constraint aliases accept what the spec uses and reject out-of-range input at its field."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from contracts import types


def decode_field(alias: Any, raw: str) -> Any:
    """Decode ``raw`` as the ``value`` field of a one-field Struct, so errors carry a field path."""
    probe = msgspec.defstruct("Probe", [("value", alias)])
    decoded = msgspec.json.decode(f'{{"value": {raw}}}'.encode(), type=probe)
    return msgspec.structs.asdict(decoded)["value"]


@pytest.mark.parametrize(
    ("alias", "raw", "expected"),
    [
        (types.PainLevel, "0", 0),
        (types.PainLevel, "10", 10),
        (types.Percentage, "66.7", 66.7),
        (types.Percentage, "100", 100.0),
        (types.UnitFloat, "0.85", 0.85),
        (types.ConsentLevel, "3", 3),
        (types.IntId, "1", 1),
        (types.Page, "1", 1),
        (types.Limit, "100", 100),
        (types.ShortText, '"Post-ACL Rehab Weeks 1-4"', "Post-ACL Rehab Weeks 1-4"),
        (types.ConditionTag, '"post_acl"', "post_acl"),
        (types.HashedId, '"hashed-exercise-id"', "hashed-exercise-id"),
        (types.HashedId, '"9f86d081884c7d659a2feaa0c55ad015"', "9f86d081884c7d659a2feaa0c55ad015"),
        (types.VideoResolution, '"720p"', "720p"),
        (types.CameraResolution, '"640x480"', "640x480"),
        (types.Url, '"https://cdn.example/thumb.jpg"', "https://cdn.example/thumb.jpg"),
    ],
)
def test_accepts_values_in_range(alias: Any, raw: str, expected: object) -> None:
    assert decode_field(alias, raw) == expected


@pytest.mark.parametrize(
    ("alias", "raw", "message"),
    [
        (types.PainLevel, "11", "Expected `int` <= 10"),
        (types.PainLevel, "-1", "Expected `int` >= 0"),
        (types.PainLevel, "5.5", "Expected `int`, got `float`"),
        (types.Percentage, "100.1", "Expected `float` <= 100.0"),
        (types.UnitFloat, "1.01", "Expected `float` <= 1.0"),
        (types.ConsentLevel, "4", "Expected `int` <= 3"),
        (types.IntId, "0", "Expected `int` >= 1"),
        (types.IntId, str(2**63), "Expected `int` <= 9223372036854775807"),
        (types.Page, "0", "Expected `int` >= 1"),
        (types.Limit, "101", "Expected `int` <= 100"),
        (types.ShortText, '""', "Expected `str` of length >= 1"),
        (types.ShortText, '"   "', "matching regex"),
        (types.ShortText, '"' + "x" * 201 + '"', "Expected `str` of length <= 200"),
        (types.LongText, '"' + "x" * 5001 + '"', "Expected `str` of length <= 5000"),
        (types.ConditionTag, '"Post_ACL"', "matching regex"),
        (types.ConditionTag, '"post-acl"', "matching regex"),
        (types.ConditionTag, '"' + "a" * 65 + '"', "matching regex"),
        (types.HashedId, '""', "Expected `str` of length >= 1"),
        (types.HashedId, '"abc/def"', "matching regex"),
        (types.HashedId, '"' + "a" * 129 + '"', "Expected `str` of length <= 128"),
        (types.VideoResolution, '"720"', "matching regex"),
        (types.CameraResolution, '"640*480"', "matching regex"),
        (types.Url, '"javascript:alert(1)"', "matching regex"),
        (types.LandmarkCoords, "[" + ",".join(["0.5"] * 34) + "]", "Expected `array` of length <= 33"),
        (types.LandmarkCoords, "[0.5, 11.0]", "Expected `float` <= 10.0 - at `$.value[1]`"),
        (types.LandmarkScores, "[0.5, 2e6]", "Expected `float` <= 1000000.0 - at `$.value[1]`"),
        (types.FormIssueCode, '"Knee Valgus"', "Expected `str` matching regex"),
    ],
)
def test_rejects_values_out_of_range_at_the_field(alias: Any, raw: str, message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match="at `\\$\\.value") as caught:
        decode_field(alias, raw)
    assert message in str(caught.value)


def test_landmark_coords_accept_a_full_pose() -> None:
    assert len(decode_field(types.LandmarkCoords, "[" + ",".join(["0.5"] * 33) + "]")) == 33


def test_timestamp_keeps_the_offset() -> None:
    assert decode_field(types.Timestamp, '"2026-02-16T09:03:00Z"') == datetime(2026, 2, 16, 9, 3, tzinfo=UTC)
    assert decode_field(types.Timestamp, '"2026-02-16T11:03:00+02:00"') == datetime(
        2026, 2, 16, 11, 3, tzinfo=timezone(timedelta(hours=2))
    )


def test_timestamp_rejects_a_naive_datetime() -> None:
    with pytest.raises(msgspec.ValidationError, match="timezone component - at `\\$\\.value`"):
        decode_field(types.Timestamp, '"2026-02-16T09:03:00"')


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "nan"])
def test_json_never_yields_a_non_finite_float(raw: str) -> None:
    # The decoder refuses these tokens outright, so no float alias can ever hold NaN or infinity.
    with pytest.raises(msgspec.DecodeError):
        decode_field(types.Percentage, raw)


@pytest.mark.parametrize("raw", ["1e400", "-1e400"])
def test_json_rejects_numbers_beyond_a_double(raw: str) -> None:
    with pytest.raises(msgspec.ValidationError, match="Number out of range"):
        decode_field(types.MediaSeconds, raw)


def test_bounded_float_rejects_nan_from_python_objects() -> None:
    # msgspec.convert (used on already-parsed data) does let NaN reach a float; the bounds stop it.
    probe = msgspec.defstruct("Probe", [("value", types.UnitFloat)])
    with pytest.raises(msgspec.ValidationError, match="at `\\$\\.value`"):
        msgspec.convert({"value": float("nan")}, type=probe)

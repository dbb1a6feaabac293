"""telemetry.clickhouse.sql: values as ClickHouse literals and templates filled with them (no database).

test_clickhouse_store.py sends hostile strings to both engines and reads back the bytes they stored."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from telemetry.clickhouse.sql import Sql, identifier, literal, render

HOSTILE = {
    "quote": ("x' OR '1'='1", r"'x\' OR \'1\'=\'1'"),
    "doubled quote": ("a''b", r"'a\'\'b'"),
    "backslash before quote": ("a\\' OR 1=1 --", r"'a\\\' OR 1=1 --'"),
    "trailing backslash": ("a\\", r"'a\\'"),
    "nul": ("a\x00b", r"'a\x00b'"),
    "line breaks": ("a\nb\r\nc", r"'a\x0Ab\x0D\x0Ac'"),
    "tab and delete": ("\t\x7f", r"'\x09\x7F'"),
    "a placeholder": ("{org_hash}", "'{org_hash}'"),
    "a format": ("' FORMAT JSON --", r"'\' FORMAT JSON --'"),
    "unicode": ("é😀\u2028\u202e", "'é😀\u2028\u202e'"),
}


@pytest.mark.parametrize(("value", "expected"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_string_becomes_one_quoted_escaped_literal(value: str, expected: str) -> None:
    assert literal(value) == expected


@pytest.mark.parametrize("value", [value for value, _ in HOSTILE.values()], ids=HOSTILE.keys())
def test_a_literal_holds_no_raw_quote_backslash_or_control_character(value: str) -> None:
    inner = literal(value)[1:-1]
    unescaped = inner.replace("\\\\", "").replace("\\'", "")
    assert "'" not in unescaped
    assert all(part.startswith("x") for part in unescaped.split("\\")[1:])
    assert not any(ord(char) < 0x20 or ord(char) == 0x7F for char in inner)


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(ValueError, match="valid Unicode"):
        literal("a\ud800")


def test_numbers_are_written_as_numbers() -> None:
    assert literal(42) == "42"
    assert literal(-7) == "-7"
    assert literal(True) == "1"
    assert literal(0.5) == "0.5"
    assert literal(1e16) == "1e+16"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_number_that_is_not_finite_is_refused(value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        literal(value)


def test_uuids_dates_and_datetimes_take_the_tables_forms() -> None:
    session = uuid.UUID("32929f4b-9727-49eb-9e1d-6b9ca156d342")
    assert literal(session) == "toUUID('32929f4b-9727-49eb-9e1d-6b9ca156d342')"
    assert literal(date(2026, 1, 31)) == "toDate('2026-01-31')"
    assert literal(datetime(2026, 8, 1, tzinfo=UTC)) == "toDateTime('2026-08-01 00:00:00', 'UTC')"
    two_hours_east = timezone(timedelta(hours=2))
    assert literal(datetime(2026, 8, 1, 2, 30, tzinfo=two_hours_east)) == "toDateTime('2026-08-01 00:30:00', 'UTC')"


@pytest.mark.parametrize(
    ("value", "message"),
    [(datetime(2026, 8, 1), "time zone"), (datetime(2026, 8, 1, microsecond=1, tzinfo=UTC), "whole seconds")],
)
def test_a_datetime_without_a_zone_or_with_a_fraction_is_refused(value: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        literal(value)


def test_a_list_becomes_the_parenthesized_list_in_takes() -> None:
    assert literal(["media_events", "x'y"]) == r"('media_events', 'x\'y')"
    assert literal((1, 2)) == "(1, 2)"
    assert literal(["only"]) == "('only')"
    with pytest.raises(ValueError, match="empty"):
        literal([])


@pytest.mark.parametrize("value", [b"bytes", None, {"a": 1}, {1, 2}, object()])
def test_other_types_have_no_literal(value: object) -> None:
    with pytest.raises(TypeError):
        literal(value)  # type: ignore[arg-type]


def test_sql_goes_in_as_it_is_and_a_str_never_does() -> None:
    assert literal(Sql("count()")) == "count()"
    assert literal("count()") == "'count()'"
    # Joining SQL gives a plain str, which is a value again: a mistake shows as a quoted string, never as SQL.
    assert literal(Sql("a") + " OR 1=1") == "'a OR 1=1'"


@pytest.mark.parametrize("name", ["media_events", "_x1", "view_platform"])
def test_a_plain_identifier_is_sql(name: str) -> None:
    assert identifier(name) == name
    assert isinstance(identifier(name), Sql)


@pytest.mark.parametrize("name", ["", "1table", "a b", "a;DROP", "a.b", "`a`", "a\x00", "é"])
def test_anything_else_is_not_an_identifier(name: str) -> None:
    with pytest.raises(ValueError, match="not a plain identifier"):
        identifier(name)


def test_render_fills_every_placeholder_with_its_literal() -> None:
    query = render(
        "SELECT * FROM {table} WHERE org_hash = {org} AND hours < {hours} AND id IN {ids}",
        table=identifier("media_events"),
        org="o'1",
        hours=24,
        ids=[uuid.UUID(int=1)],
    )
    assert isinstance(query, Sql)
    assert query == (
        r"SELECT * FROM media_events WHERE org_hash = 'o\'1' AND hours < 24 "
        "AND id IN (toUUID('00000000-0000-0000-0000-000000000001'))"
    )


def test_render_never_reads_a_value_for_placeholders() -> None:
    query = render("{a} = {b}", a="{b}", b="x")
    assert query == "'{b}' = 'x'"


def test_render_composes_rendered_fragments() -> None:
    inner = render("org_hash = {org}", org="o")
    assert render("SELECT 1 WHERE {filter} AND n = {n}", filter=inner, n=1) == "SELECT 1 WHERE org_hash = 'o' AND n = 1"


def test_render_refuses_a_missing_or_unused_value() -> None:
    with pytest.raises(KeyError, match="org"):
        render("WHERE org_hash = {org}")
    with pytest.raises(TypeError, match="extra"):
        render("SELECT 1", extra=1)

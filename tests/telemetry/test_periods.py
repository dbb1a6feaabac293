"""The read routes' ``period`` parameter: the documented pattern admits exactly the periods the route serves."""

from __future__ import annotations

import re

import pytest
from telemetry.media.stats import MAX_MEDIA_PERIOD_HOURS, MAX_PERIOD_HOURS
from telemetry.reads import period_hours, period_pattern


@pytest.mark.parametrize("max_hours", [MAX_PERIOD_HOURS, MAX_MEDIA_PERIOD_HOURS, 24, 9 * 24, 1000 * 24])
def test_the_pattern_admits_exactly_the_periods_served(max_hours: int) -> None:
    pattern = re.compile(period_pattern(max_hours))
    for unit, hours_each in (("h", 1), ("d", 24)):
        for count in range(0, max_hours // hours_each + 30):
            for text in (f"{count}{unit}", f"0{count}{unit}"):
                try:
                    served = period_hours(text, max_hours) > 0
                except ValueError:
                    served = False
                assert bool(pattern.fullmatch(text)) == served, text


@pytest.mark.parametrize("text", ["", "d", "7", "7w", "-1d", "1.5d", " 7d", "7d ", "٣d"])
def test_other_shapes_match_neither(text: str) -> None:
    assert not re.fullmatch(period_pattern(MAX_PERIOD_HOURS), text)
    with pytest.raises(ValueError, match="period must look like"):
        period_hours(text, MAX_PERIOD_HOURS)

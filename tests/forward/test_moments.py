"""``replay --since/--until``: ISO 8601 times or durations ago, never one taken for the other."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from otlp_arrow import ConfigError
from otlp_arrow.forward.replay import parse_moment

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_times_and_durations_ago() -> None:
    assert parse_moment("90m", NOW) == datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    assert parse_moment("2026-11-25T08:00", NOW) == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    # ISO 8601's basic form is a date, not 20 million seconds ago
    assert parse_moment("20261203", NOW) == datetime(2026, 12, 3, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026", "90", "1.5"])
def test_a_bare_number_is_refused_as_ambiguous(text: str) -> None:
    with pytest.raises(ConfigError, match=f"{text!r} is not a time: .*a unit"):
        parse_moment(text, NOW)


@pytest.mark.parametrize("text", ["99999999d", "1e300s"])
def test_a_duration_beyond_the_calendar_is_a_clear_error(text: str) -> None:
    with pytest.raises(ConfigError, match="too far back"):
        parse_moment(text, NOW)

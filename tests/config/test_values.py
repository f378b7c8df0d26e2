from __future__ import annotations

import pytest

from otlp_arrow.config import parse_duration, parse_size
from otlp_arrow.config.values import _choice, _parse_signals
from otlp_arrow.schema import SIGNALS


def test_units() -> None:
    assert parse_size("64MiB") == 64 * 2**20 and parse_size("1.5GB") == 1_500_000_000
    assert parse_size(4096) == 4096
    assert parse_duration("500ms") == 0.5 and parse_duration("2h") == 7200
    assert parse_duration(" 7d ") == 7 * 86400


def test_choice_parses_its_values_and_names_them() -> None:
    parse = _choice("gzip", "none")
    assert parse.allowed == "gzip, none"
    assert parse(" GZip ") == "gzip"
    with pytest.raises(ValueError, match=r"^expected one of gzip, none$"):
        parse("brotli")


def test_signals_are_those_of_the_schema() -> None:
    assert _parse_signals(list(SIGNALS)) == SIGNALS
    assert _parse_signals(" logs, TRACES,logs") == ("logs", "traces")
    with pytest.raises(ValueError, match="expected some of traces, metrics, logs; got spans"):
        _parse_signals("traces,spans")


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "1e400", "1e400MiB", "inf"])
def test_sizes_and_durations_are_finite(value: object) -> None:
    """An infinite or not-a-number value is a ValueError (a ConfigError naming the setting),
    not an OverflowError from deep inside."""
    with pytest.raises(ValueError, match="expected a size"):
        parse_size(value)
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(value)

from __future__ import annotations

from otlp_arrow.config import parse_duration, parse_size


def test_units() -> None:
    assert parse_size("64MiB") == 64 * 2**20 and parse_size("1.5GB") == 1_500_000_000
    assert parse_size(4096) == 4096
    assert parse_duration("500ms") == 0.5 and parse_duration("2h") == 7200
    assert parse_duration(" 7d ") == 7 * 86400

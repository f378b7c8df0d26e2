from __future__ import annotations

import pytest

from otlp_arrow import Config, ConfigError
from otlp_arrow.config.fields import _setting
from otlp_arrow.config.values import _choice, _parse_host


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"write_interval": "0"},
            r"write_interval='0' \(from argument\) is out of bounds: "
            r"allowed 10ms \.\. 1h",
        ),
        ({"batch_rows": 1.5}, "batch_rows=1.5 .* expected a whole number"),
        ({"compression": "gzip"}, "expected one of none, lz4, zstd"),
        ({"max_buffer_bytes": "12 parsecs"}, "expected a size"),
        ({"retention_age": "-1s"}, "expected a duration"),
        ({"rotate_bytes": True}, "expected a size"),
        ({"output_dir": " "}, "expected a directory path"),
        ({"colour": "blue"}, "unknown setting.*colour"),
    ],
)
def test_bad_values_name_setting_value_and_what_is_allowed(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.load(env={}, **overrides)


def test_a_choice_setting_shows_the_choices_as_allowed() -> None:
    assert _setting("b", _choice("a", "b"), "doc").metadata["allowed"] == "a, b"
    assert _setting("b", _choice("a", "b"), "doc", allowed="a or b").metadata["allowed"] == (
        "a or b"
    )
    assert _setting("h", _parse_host, "doc", allowed="a host").metadata["allowed"] == "a host"


def test_a_setting_where_0_is_off_says_so_in_its_bounds() -> None:
    """``max_inflight_bytes`` takes 0 (no limit) beside 1MiB .. 1TiB: the bounds say both."""
    assert Config.load(env={}, max_inflight_bytes=0).max_inflight_bytes == 0
    with pytest.raises(ConfigError, match=r"allowed 0 \(off\) or 1MiB \.\. 1TiB$"):
        Config.load(env={}, max_inflight_bytes=5)

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from otlp_arrow import Config, ConfigError
from otlp_arrow.config import parse_duration, parse_size, render_docs

DOCS = Path(__file__).parents[1] / "docs" / "configuration.md"


def test_defaults() -> None:
    config = Config.load(env={})
    assert config.output_dir == Path("otlp-arrow-data")
    assert config.compression == "zstd" and config.ipc_compression == "zstd"
    assert config.retention("traces").enabled is False


def test_precedence_argument_over_env_over_file_over_default(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("write_interval: 3s\nbatch_rows: 7\nrotate_age: 2m\n", encoding="utf-8")
    env = {
        "OTLP_ARROW_CONFIG_FILE": str(file),
        "OTLP_ARROW_BATCH_ROWS": "9",
        "OTLP_ARROW_ROTATE_AGE": "90",
    }
    config = Config.load(env=env, rotate_age="45s")
    assert config.write_interval == 3.0  # file
    assert config.batch_rows == 9  # env over file
    assert config.rotate_age == 45.0  # argument over env
    assert config.rotate_bytes == 128 * 1024**2  # default


def test_per_signal_retention_overrides_the_generic_one() -> None:
    config = Config.load(
        env={
            "OTLP_ARROW_RETENTION_AGE": "7d",
            "OTLP_ARROW_LOGS_RETENTION_AGE": "1d",
            "OTLP_ARROW_TRACES_RETENTION_BYTES": "1GiB",
        }
    )
    assert config.retention("logs").max_age_s == 86400
    assert config.retention("metrics").max_age_s == 7 * 86400
    assert config.retention("traces").max_bytes == 2**30
    assert config.retention("logs").max_bytes == 0


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


def test_env_errors_name_the_variable() -> None:
    with pytest.raises(ValueError, match=r"from environment variable OTLP_ARROW_ROTATE_BYTES"):
        Config.load(env={"OTLP_ARROW_ROTATE_BYTES": "1"})


def test_yaml_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("output_dir: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Config.load(config_file=bad, env={})
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        Config.load(config_file=bad, env={})
    bad.write_text("outptu_dir: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown setting.*outptu_dir"):
        Config.load(config_file=bad, env={})
    with pytest.raises(ConfigError, match="cannot read config file"):
        Config.load(config_file=tmp_path / "missing.yaml", env={})
    bad.write_text("compression: brotli\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"from {bad}"):
        Config.load(config_file=bad, env={})


def test_unknown_env_variable_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        Config.load(env={"OTLP_ARROW_WRITE_INTERVL": "1s"})
    assert "OTLP_ARROW_WRITE_INTERVL" in caplog.text


def test_units() -> None:
    assert parse_size("64MiB") == 64 * 2**20 and parse_size("1.5GB") == 1_500_000_000
    assert parse_size(4096) == 4096
    assert parse_duration("500ms") == 0.5 and parse_duration("2h") == 7200
    assert parse_duration(" 7d ") == 7 * 86400


def test_replace_validates_like_arguments() -> None:
    config = Config.load(env={})
    assert config.replace(write_interval="2s").write_interval == 2
    with pytest.raises(ConfigError, match="out of bounds"):
        config.replace(write_interval="2d")
    with pytest.raises(ConfigError, match="unknown"):
        config.replace(nope=1)


def test_docs_list_every_setting_as_generated() -> None:
    assert render_docs() in DOCS.read_text(encoding="utf-8"), (
        "docs/configuration.md is stale: regenerate with `otlp-arrow config --docs`"
    )


def test_receiver_settings() -> None:
    assert Config.load(env={"OTLP_ARROW_GRPC_PORT": "off"}).grpc_port is None
    assert Config.load(env={}, grpc_port="0").grpc_port == 0
    assert Config.load(env={}).grpc_port == 4317 and Config.load(env={}).host == "127.0.0.1"
    with pytest.raises(ConfigError, match=r"grpc_port=70000 .* allowed 0 \.\. 65535, or off"):
        Config.load(env={}, grpc_port=70000)
    with pytest.raises(ConfigError, match="expected a host name or IP address"):
        Config.load(env={}, host="local host")

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from otlp_arrow import Config, ConfigError


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


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param("output_dir: café\n".encode("latin-1"), "is not UTF-8 text", id="latin-1"),
        pytest.param("output_dir: x\n".encode("utf-16"), "is not UTF-8 text", id="utf-16"),
        pytest.param(bytes(range(256)), "is not UTF-8 text", id="binary"),
        pytest.param(b"\x00\x01\x02\x03", "is not valid YAML", id="binary-valid-utf-8"),
    ],
)
def test_a_binary_or_non_utf8_file_is_a_config_error(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    file = tmp_path / "c.yaml"
    file.write_bytes(content)
    with pytest.raises(ConfigError, match=f"config file {file} {problem}"):
        Config.load(config_file=file, env={})


def test_an_unquoted_off_in_yaml_means_off(tmp_path: Path) -> None:
    """YAML 1.1 reads a bare ``off`` as ``false``: the docs write ``seal: off`` and
    ``grpc_port: off`` unquoted, so false is "off" where off is a value (and no bool)."""
    file = tmp_path / "c.yaml"
    file.write_text("seal: off\ngrpc_port: off\nviewer_port: no\n", encoding="utf-8")
    config = Config.load(env={"OTLP_ARROW_CONFIG_FILE": str(file)})
    assert config.seal == "off" and config.grpc_port is None and config.viewer_port is None
    file.write_text("http_port: on\n", encoding="utf-8")  # true is no port
    with pytest.raises(ConfigError, match=r"http_port=True \(from .*c\.yaml\) is not valid"):
        Config.load(env={"OTLP_ARROW_CONFIG_FILE": str(file)})

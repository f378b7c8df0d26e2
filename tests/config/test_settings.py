from __future__ import annotations

from pathlib import Path

import pytest

from otlp_arrow import Config, ConfigError


def test_defaults() -> None:
    config = Config.load(env={})
    assert config.output_dir == Path("otlp-arrow-data")
    assert config.compression is None and config.ipc_compression is None  # sealed: none
    assert config.retention("traces").enabled is False


def test_hot_files_are_compressed_only_when_they_stay_ipc() -> None:
    assert Config.load(env={"OTLP_ARROW_SEAL": "off"}).ipc_compression == "zstd"
    chosen = {"OTLP_ARROW_SEAL": "off", "OTLP_ARROW_COMPRESSION": "lz4"}
    assert Config.load(env=chosen).ipc_compression == "lz4"
    assert Config.load(env={"OTLP_ARROW_COMPRESSION": "zstd"}).ipc_compression == "zstd"
    assert Config.load(env={"OTLP_ARROW_COMPRESSION": "none"}).ipc_compression is None


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


def test_replace_validates_like_arguments() -> None:
    config = Config.load(env={})
    assert config.replace(write_interval="2s").write_interval == 2
    with pytest.raises(ConfigError, match="out of bounds"):
        config.replace(write_interval="2d")
    with pytest.raises(ConfigError, match="unknown"):
        config.replace(nope=1)


def test_receiver_settings() -> None:
    assert Config.load(env={"OTLP_ARROW_GRPC_PORT": "off"}).grpc_port is None
    assert Config.load(env={}, grpc_port="0").grpc_port == 0
    assert Config.load(env={}).grpc_port == 4317 and Config.load(env={}).host == "127.0.0.1"
    with pytest.raises(ConfigError, match=r"grpc_port=70000 .* allowed 0 \.\. 65535, or off"):
        Config.load(env={}, grpc_port=70000)
    with pytest.raises(ConfigError, match="expected a host name or IP address"):
        Config.load(env={}, host="local host")

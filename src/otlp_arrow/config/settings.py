"""The settings table: :class:`Config`, one dataclass field per setting, declared with its
parser, bounds and documentation; :meth:`Config.load` resolves them (see ``sources``)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from otlp_arrow.config.exposure import ExposureSettings
from otlp_arrow.config.fields import _parse, _setting
from otlp_arrow.config.lake import LakeSettings
from otlp_arrow.config.output import OutputSettings
from otlp_arrow.config.sources import _resolve
from otlp_arrow.config.values import (
    Secret,
    _choice,
    _parse_endpoint,
    _parse_header_name,
    _parse_headers,
    _parse_host,
    _parse_int,
    _parse_optional_path,
    _parse_origins,
    _parse_port,
    _parse_secret,
    _parse_signals,
    parse_duration,
    parse_size,
)
from otlp_arrow.errors import ConfigError
from otlp_arrow.pipeline import DURABILITIES
from otlp_arrow.schema import SIGNALS, Signal
from otlp_arrow.storage.layout import RotationPolicy
from otlp_arrow.storage.retention import RetentionPolicy


def _per_signal(kind: Literal["age", "bytes"]) -> Any:
    parse = parse_duration if kind == "age" else parse_size
    unit = "duration" if kind == "age" else "size"
    return _setting(
        None,
        parse,
        f"Overrides `retention_{kind}` for this signal.",
        low=0,
        high=_RETENTION_MAX[kind],
        unit=unit,
        zero_ok=True,
    )


_DAY = 86400.0
_RETENTION_MAX = {"age": 36500 * _DAY, "bytes": 2**50}


@dataclass(frozen=True)
class Config(LakeSettings, ExposureSettings, OutputSettings):
    """Resolved settings. Build with :meth:`Config.load`; every field is documented in
    docs/configuration.md."""

    write_interval: float = _setting(
        1.0,
        parse_duration,
        "How often buffered data is written to the files.",
        low=0.01,
        high=3600.0,
        unit="duration",
    )
    batch_rows: int = _setting(
        50_000,
        _parse_int,
        "Write as soon as this many rows are buffered, before the interval.",
        low=1,
        high=10_000_000,
    )
    max_buffer_rows: int = _setting(
        1_000_000,
        _parse_int,
        "Most rows held in memory before exports are refused with BufferFullError.",
        low=1,
        high=1_000_000_000,
    )
    max_buffer_bytes: int = _setting(
        256 * 1024**2,
        parse_size,
        "Most bytes held in memory before exports are refused with BufferFullError.",
        low=1024,
        high=2**40,
        unit="size",
    )
    durability: str | None = _setting(
        None,
        _choice(*DURABILITIES),
        "When an export is acknowledged: `buffered` once it is in memory (fastest; a crash "
        "loses up to one write round), `written` once it is in the file (survives `kill -9`), "
        "`synced` once it is fsync'd (survives a power cut). Requests waiting together share "
        "one write and one sync.",
        default_text="`written` for `serve`, `buffered` in-process",
    )
    rotate_bytes: int = _setting(
        128 * 1024**2,
        parse_size,
        "Close a file and start a new one at this size.",
        low=4096,
        high=2**40,
        unit="size",
    )
    rotate_age: float = _setting(
        600.0,
        parse_duration,
        "Close a file and start a new one at this age (files also rotate at every UTC hour).",
        low=1.0,
        high=_DAY,
        unit="duration",
    )
    compression: str | None = _setting(
        None,
        _choice("none", "lz4", "zstd"),
        "Compression of the Arrow IPC buffers. Files that are sealed to Parquet live only until "
        "they rotate, so compressing them costs CPU twice (writing, then reading to seal) and "
        "saves no lasting space; see docs/performance.md for what each choice costs.",
        default_text="`none` while `seal` is `parquet`, else `zstd`",
    )
    seal: str = _setting(
        "parquet",
        _choice("parquet", "off"),
        "What happens to a file once closed: `parquet` rewrites it as Parquet with zstd "
        "(smaller, with statistics for fast queries); `off` keeps the Arrow IPC stream file.",
    )
    retention_age: float = _setting(
        0.0,
        parse_duration,
        "Delete files last written longer ago than this. 0 keeps them.",
        low=0,
        high=_RETENTION_MAX["age"],
        zero_ok=True,
        unit="duration",
    )
    retention_bytes: int = _setting(
        0,
        parse_size,
        "Delete the oldest files while a signal's files take more than this. 0: no limit.",
        low=0,
        high=_RETENTION_MAX["bytes"],
        zero_ok=True,
        unit="size",
    )
    traces_retention_age: float | None = _per_signal("age")
    metrics_retention_age: float | None = _per_signal("age")
    logs_retention_age: float | None = _per_signal("age")
    traces_retention_bytes: int | None = _per_signal("bytes")
    metrics_retention_bytes: int | None = _per_signal("bytes")
    logs_retention_bytes: int | None = _per_signal("bytes")
    metrics_temporality: str = _setting(
        "cumulative",
        _choice("cumulative", "delta", "lowmemory"),
        "Aggregation temporality the SDK metric exporter asks for (as "
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE).",
    )
    host: str = _setting(
        "127.0.0.1",
        _parse_host,
        "Address the OTLP receivers listen on; 0.0.0.0 (or ::) to accept other machines.",
        allowed="a host name or IP address",
    )
    grpc_port: int | None = _setting(
        4317,
        _parse_port,
        "OTLP/gRPC port; 0 picks a free port, off disables the receiver.",
        low=0,
        high=65535,
        unit="port",
    )
    http_port: int | None = _setting(
        4318,
        _parse_port,
        "OTLP/HTTP port; 0 picks a free port, off disables the receiver.",
        low=0,
        high=65535,
        unit="port",
    )
    viewer_port: int | None = _setting(
        None,
        _parse_port,
        "Port of the web viewer `serve` runs beside the receivers (on `host`); off runs none. "
        "`serve --viewer` sets it to 4320.",
        low=0,
        high=65535,
        unit="port",
    )
    workers: int = _setting(
        1,
        _parse_int,
        "Processes `serve` runs, sharing the receivers' ports (`SO_REUSEPORT`: Linux, macOS, "
        "BSD); a supervisor restarts one that dies. docs/scale-out.md.",
        low=1,
        high=256,
    )
    cors_origins: tuple[str, ...] = _setting(
        (),
        _parse_origins,
        "Browser origins allowed to POST to OTLP/HTTP (comma-separated; empty: CORS off).",
        allowed="origins, or *",
    )
    max_receive_bytes: int = _setting(
        16 * 1024**2,
        parse_size,
        "Largest OTLP request accepted (after decompression).",
        low=1024,
        high=2**30,
        unit="size",
    )
    retry_after: float = _setting(
        1.0,
        parse_duration,
        "Back-off the receivers ask clients for when the buffer is full.",
        low=0.1,
        high=3600.0,
        unit="duration",
    )
    retention_interval: float = _setting(
        60.0, parse_duration, "How often retention runs.", low=1.0, high=_DAY, unit="duration"
    )
    forward_endpoint: str = _setting(
        "",
        _parse_endpoint,
        "Also send everything written to this OTLP endpoint (base URL; `/v1/<signal>` is "
        "added for OTLP/HTTP). `http://` is plaintext, `https://` TLS. Empty: no forwarding.",
        allowed="a URL, or empty",
    )
    forward_protocol: str = _setting(
        "http/protobuf",
        _choice("grpc", "http/protobuf", "http/json"),
        "How to send: OTLP/gRPC, OTLP/HTTP with protobuf, or OTLP/HTTP with JSON.",
    )
    forward_signals: tuple[Signal, ...] = _setting(
        SIGNALS,
        _parse_signals,
        "Which signals to forward (comma-separated).",
        allowed=", ".join(SIGNALS),
    )
    forward_compression: str = _setting(
        "gzip", _choice("gzip", "none"), "Compression of forwarded requests."
    )
    forward_timeout: float = _setting(
        10.0,
        parse_duration,
        "Time allowed for one forwarded request (a timeout counts as a failure).",
        low=0.1,
        high=600.0,
        unit="duration",
    )
    forward_ca_file: Path | None = _setting(
        None,
        _parse_optional_path,
        "PEM file of the CA certificates to trust for `https://` (default: the system's).",
        allowed="a file path",
    )
    forward_headers: tuple[tuple[str, Secret], ...] = _setting(
        (),
        _parse_headers,
        "Extra headers (gRPC metadata) on every forwarded request: `name=value,...`. Values are "
        "treated as secrets (never shown); `file:PATH` reads one from a file.",
        allowed="name=value pairs",
    )
    forward_api_key: Secret | None = _setting(
        None,
        _parse_secret,
        "API key sent in `forward_api_key_header`. Secret: never shown; `file:PATH` reads it "
        "from a file.",
        allowed="a secret, or file:PATH",
    )
    forward_api_key_header: str = _setting(
        "x-api-key",
        _parse_header_name,
        "Header that carries `forward_api_key`.",
        allowed="a header name",
    )
    forward_bearer_token: Secret | None = _setting(
        None,
        _parse_secret,
        "Sent as `Authorization: Bearer <token>`. Secret; `file:PATH` reads it from a file.",
        allowed="a secret, or file:PATH",
    )
    forward_basic_auth: Secret | None = _setting(
        None,
        _parse_secret,
        "`user:password` sent as HTTP basic authentication. Secret; `file:PATH` reads it.",
        allowed="a secret, or file:PATH",
    )
    forward_batch_rows: int = _setting(
        2000,
        _parse_int,
        "Most rows (spans, points, records) in one forwarded request.",
        low=1,
        high=1_000_000,
    )
    forward_retry_initial: float = _setting(
        0.5,
        parse_duration,
        "First back-off after a retryable failure; doubled per attempt, with jitter.",
        low=0.01,
        high=3600.0,
        unit="duration",
    )
    forward_retry_max: float = _setting(
        30.0,
        parse_duration,
        "Longest back-off between attempts (a longer `Retry-After` / `RetryInfo` is honoured).",
        low=0.01,
        high=3600.0,
        unit="duration",
    )
    forward_breaker_failures: int = _setting(
        5,
        _parse_int,
        "Consecutive failed requests that open the circuit breaker (no sending while open).",
        low=1,
        high=10_000,
    )
    forward_breaker_open: float = _setting(
        30.0,
        parse_duration,
        "How long the breaker stays open before it lets probe requests through (half-open).",
        low=0.01,
        high=_DAY,
        unit="duration",
    )
    forward_breaker_probes: int = _setting(
        1,
        _parse_int,
        "Successful probe requests in half-open state that close the breaker again.",
        low=1,
        high=1000,
    )

    @classmethod
    def load(
        cls,
        config_file: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Config:
        """Resolve every setting: ``overrides`` > environment > YAML file > default."""
        env = os.environ if env is None else env
        return cls(**_resolve(dataclasses.fields(cls), config_file, env, overrides))

    @classmethod
    def of(cls, config: Config | None, **overrides: Any) -> Config:
        """``config`` (or :meth:`load`'s) with ``overrides`` applied: how the composition roots
        take ``(config=None, **overrides)``."""
        if config is None:
            return cls.load(**overrides)
        return config.replace(**overrides) if overrides else config

    def replace(self, **overrides: Any) -> Config:
        """A copy with ``overrides`` parsed and validated like explicit arguments."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        parsed = {
            name: _parse(fields[name], raw, "argument")
            for name, raw in overrides.items()
            if raw is not None
        }
        return dataclasses.replace(self, **parsed)

    def retention(self, signal: Signal) -> RetentionPolicy:
        """The signal's retention: its own settings where set, else the generic ones."""
        age = getattr(self, f"{signal}_retention_age")
        size = getattr(self, f"{signal}_retention_bytes")
        return RetentionPolicy(
            max_age_s=self.retention_age if age is None else age,
            max_bytes=self.retention_bytes if size is None else size,
        )

    @property
    def rotation(self) -> RotationPolicy:
        return RotationPolicy(max_bytes=self.rotate_bytes, max_age_s=self.rotate_age)

    @property
    def ipc_compression(self) -> str | None:
        """The IPC compression in effect: the setting, or by default none for files that are
        sealed to Parquet (short-lived) and zstd for files that stay IPC."""
        chosen = self.compression
        if chosen is None:
            chosen = "none" if self.seal == "parquet" else "zstd"
        return None if chosen == "none" else chosen

"""Configuration: one declarative table of settings, resolved once.

Precedence: explicit argument > ``OTLP_ARROW_<NAME>`` environment variable > YAML file
(``config_file`` argument or ``OTLP_ARROW_CONFIG_FILE``) > default. Every value is parsed and
checked against its bounds; a bad one raises :class:`ConfigError` naming the setting, the
value, where it came from and what is allowed. ``docs/configuration.md`` is generated from this
table (``python -m otlp_arrow.config``) and a test keeps the two equal.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from otlp_arrow.errors import ConfigError
from otlp_arrow.schema import Signal
from otlp_arrow.storage.layout import RotationPolicy
from otlp_arrow.storage.retention import RetentionPolicy

log = logging.getLogger(__name__)

ENV_PREFIX = "OTLP_ARROW_"
CONFIG_FILE_ENV = "OTLP_ARROW_CONFIG_FILE"

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_DURATION_UNITS = {"": 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NUMBER_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: Any) -> int:
    """Bytes from an int or a string such as ``"64MiB"``, ``"1.5GB"``, ``"4096"``."""
    return int(_with_unit(value, _SIZE_UNITS, "a size such as 4096, 64MiB or 1GB"))


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as ``"500ms"``, ``"15m"``, ``"7d"``."""
    return _with_unit(value, _DURATION_UNITS, "a duration such as 1.5, 500ms, 15m, 2h or 7d")


def _with_unit(value: Any, units: Mapping[str, float], expected: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected {expected}")
    if isinstance(value, int | float):
        return float(value)
    match = _NUMBER_UNIT.match(str(value))
    if not match or match.group(2).lower() not in units:
        raise ValueError(f"expected {expected}")
    return float(match.group(1)) * units[match.group(2).lower()]


def _parse_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("expected a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError("expected a whole number") from None


def _parse_port(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().lower() in ("off", "none", "disabled"):
        return None
    return _parse_int(value)


class Secret:
    """A credential: shown as ``***`` by ``str``, ``repr``, config dumps and errors; the value
    only through :meth:`reveal`, where it is sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _parse_secret(value: Any) -> Secret | None:
    """A secret given as is, or as ``file:PATH`` (read from the file, trailing newline
    dropped: how Docker and Kubernetes mount secrets)."""
    text = str(value)
    if text.startswith("file:"):
        path = Path(text[5:]).expanduser()
        try:
            text = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ValueError(f"cannot read the secret file {path}: {exc.strerror or exc}") from None
    if not text.strip():
        return None
    if any(c in text for c in "\r\n"):
        raise ValueError("a secret cannot contain line breaks")
    return Secret(text)


def _parse_headers(value: Any) -> tuple[tuple[str, Secret], ...]:
    """``name=value,name2=value2`` (or a YAML mapping); values are kept as secrets."""
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        pairs = []
        for item in str(value).split(","):
            if not item.strip():
                continue
            name, sep, header_value = item.partition("=")
            if not sep:
                raise ValueError(f"expected name=value pairs separated by commas, got {name!r}")
            pairs.append((name, header_value))
    out = []
    for name, header_value in pairs:
        secret = _parse_secret(header_value.strip())
        out.append((_parse_header_name(name), secret or Secret("")))
    return tuple(out)


def _parse_endpoint(value: Any) -> str:
    text = str(value).strip().rstrip("/")
    if not text:
        return ""
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise ValueError("expected a URL such as http://collector:4318 or https://otlp.example.com")
    return text


def _parse_signals(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    signals = tuple(str(i).strip().lower() for i in items if str(i).strip())
    bad = [s for s in signals if s not in ("traces", "metrics", "logs")]
    if bad:
        raise ValueError(f"expected some of traces, metrics, logs; got {', '.join(bad)}")
    return tuple(dict.fromkeys(signals))


def _parse_optional_path(value: Any) -> Path | None:
    text = str(value).strip()
    return Path(text).expanduser() if text else None


def _parse_header_name(value: Any) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", text):
        raise ValueError(f"{text!r} is not a valid header name")
    return text.lower()


def _parse_host(value: Any) -> str:
    text = str(value).strip()
    if not text or any(c.isspace() for c in text):
        raise ValueError("expected a host name or IP address such as 127.0.0.1 or 0.0.0.0")
    return text


def _parse_origins(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    origins = tuple(str(item).strip() for item in items if str(item).strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ValueError(
                f"expected origins such as https://app.example.com or *, got {origin!r}"
            )
    return origins


def _parse_path(value: Any) -> Path:
    if not str(value).strip():
        raise ValueError("expected a directory path")
    return Path(str(value)).expanduser()


def _choice(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return text

    return parse


def _setting(
    default: Any,
    parse: Callable[[Any], Any],
    doc: str,
    *,
    low: float | None = None,
    high: float | None = None,
    zero_ok: bool = False,
    unit: str = "",
    allowed: str = "",
) -> Any:
    return field(
        default=default,
        metadata={
            "parse": parse,
            "doc": doc,
            "low": low,
            "high": high,
            "zero_ok": zero_ok,
            "unit": unit,
            "allowed": allowed,
        },
    )


def _per_signal(kind: str) -> Any:
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
class Config:
    """Resolved settings. Build with :meth:`Config.load`; every field is documented in
    docs/configuration.md."""

    output_dir: Path = _setting(
        Path("otlp-arrow-data"),
        _parse_path,
        "Directory the Arrow files are written under (one sub-directory per signal).",
        allowed="a directory path",
    )
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
    compression: str = _setting(
        "zstd",
        _choice("none", "lz4", "zstd"),
        "Compression of the Arrow IPC buffers.",
        allowed="none, lz4, zstd",
    )
    seal: str = _setting(
        "parquet",
        _choice("parquet", "off"),
        "What happens to a file once closed: `parquet` rewrites it as Parquet with zstd "
        "(smaller, with statistics for fast queries); `off` keeps the Arrow IPC stream file.",
        allowed="parquet, off",
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
        allowed="cumulative, delta, lowmemory",
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
        allowed="grpc, http/protobuf, http/json",
    )
    forward_signals: tuple[str, ...] = _setting(
        ("traces", "metrics", "logs"),
        _parse_signals,
        "Which signals to forward (comma-separated).",
        allowed="traces, metrics, logs",
    )
    forward_compression: str = _setting(
        "gzip", _choice("gzip", "none"), "Compression of forwarded requests.", allowed="gzip, none"
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
    forward_queue_rows: int = _setting(
        200_000,
        _parse_int,
        "Most rows waiting to be forwarded; beyond it the oldest batches are dropped for "
        "forwarding (counted; the local files keep them).",
        low=1,
        high=1_000_000_000,
    )
    forward_queue_bytes: int = _setting(
        64 * 1024**2,
        parse_size,
        "Most bytes waiting to be forwarded (same rule as `forward_queue_rows`).",
        low=1024,
        high=2**40,
        unit="size",
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
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ConfigError(
                f"unknown setting(s): {', '.join(unknown)}; "
                f"known settings: {', '.join(sorted(names))}"
            )
        known_env = {ENV_PREFIX + name.upper() for name in names} | {CONFIG_FILE_ENV}
        for key in sorted(k for k in env if k.startswith(ENV_PREFIX) and k not in known_env):
            log.warning("ignoring unknown environment variable %s", key)
        path = config_file if config_file is not None else env.get(CONFIG_FILE_ENV)
        from_file = _read_yaml(Path(path), names) if path else {}
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            env_name = ENV_PREFIX + f.name.upper()
            if overrides.get(f.name) is not None:
                raw, source = overrides[f.name], "argument"
            elif env.get(env_name, "").strip():
                raw, source = env[env_name], f"environment variable {env_name}"
            elif f.name in from_file and from_file[f.name] is not None:
                raw, source = from_file[f.name], f"{path}"
            else:
                continue
            values[f.name] = _parse(f, raw, source)
        return cls(**values)

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
        return None if self.compression == "none" else self.compression


def _read_yaml(path: Path, names: set[str]) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of settings, got {type(data).__name__}"
        )
    unknown = sorted(str(k) for k in data if k not in names)
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            f"known settings: {', '.join(sorted(names))}"
        )
    return data


def _parse(f: dataclasses.Field[Any], raw: Any, source: str) -> Any:
    meta = f.metadata
    try:
        value = meta["parse"](raw)
    except ValueError as exc:
        shown = _shown(f, raw)
        raise ConfigError(f"{f.name}={shown} (from {source}) is not valid: {exc}") from None
    low, high = meta["low"], meta["high"]
    if value is None:
        return value
    if low is not None and not (meta["zero_ok"] and value == 0) and not low <= value <= high:
        raise ConfigError(
            f"{f.name}={raw!r} (from {source}) is out of bounds: allowed {_bounds(f)}"
        )
    return value


def _shown(f: dataclasses.Field[Any], raw: Any) -> str:
    """``raw`` for an error message; secrets as ``***`` (a ``file:`` path may be shown)."""
    if f.metadata["parse"] in (_parse_secret, _parse_headers):
        text = str(raw)
        return repr(text) if text.startswith("file:") else "'***'"
    return repr(raw)


def _bounds(f: dataclasses.Field[Any]) -> str:
    meta = f.metadata
    if meta["low"] is None:
        return "-"
    if meta["unit"] == "port":
        return f"{meta['low']} .. {meta['high']}, or off"
    show = (
        _show_size
        if meta["unit"] == "size"
        else (_show_duration if meta["unit"] == "duration" else lambda v: f"{int(v):,}")
    )
    span = f"{show(meta['low'])} .. {show(meta['high'])}"
    return (
        f"0 (off) or {show(meta['low'] or 1)} .. {show(meta['high'])}"
        if (meta["zero_ok"] and meta["low"] == 0)
        else span
    )


def _show_size(value: float) -> str:
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        if value >= _SIZE_UNITS[unit.lower()] and value % _SIZE_UNITS[unit.lower()] == 0:
            return f"{int(value // _SIZE_UNITS[unit.lower()])}{unit}"
    return f"{int(value)}"


def _show_duration(value: float) -> str:
    for unit in ("d", "h", "m", "s"):
        if value >= _DURATION_UNITS[unit] and value % _DURATION_UNITS[unit] == 0:
            return f"{int(value // _DURATION_UNITS[unit])}{unit}"
    return f"{value * 1000:g}ms"


def _show_default(f: dataclasses.Field[Any]) -> str:
    value: Any = f.default
    if value is None:
        return "off" if f.metadata["unit"] == "port" else "(generic setting)"
    if value == ():
        return "(none)"
    if f.metadata["unit"] == "size":
        return "0 (off)" if value == 0 else _show_size(value)
    if f.metadata["unit"] == "duration":
        return "0 (off)" if value == 0 else _show_duration(value)
    if isinstance(value, int) and f.metadata["unit"] != "port":
        return f"{value:,}"
    return str(value)


def render_docs() -> str:
    """The settings table of docs/configuration.md, generated from :class:`Config`."""
    lines = [
        "| Setting (YAML key) | Environment variable | Default | Allowed | Meaning |",
        "|---|---|---|---|---|",
    ]
    for f in dataclasses.fields(Config):
        lines.append(
            f"| `{f.name}` | `{ENV_PREFIX}{f.name.upper()}` | {_show_default(f)} | "
            f"{_bounds(f) if f.metadata['low'] is not None else _allowed(f)} | "
            f"{f.metadata['doc']} |"
        )
    return "\n".join(lines) + "\n"


def _allowed(f: dataclasses.Field[Any]) -> str:
    allowed: str = f.metadata["allowed"]
    return allowed


if __name__ == "__main__":  # pragma: no cover - docs generation helper
    print(render_docs(), end="")  # noqa: T201

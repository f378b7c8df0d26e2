"""The settings that make a sink you can expose (issue #13): limits on what clients may hold
(connections, time, bytes in flight), TLS, authentication, and when a replay gives up.

A base of :class:`~otlp_arrow.config.settings.Config` (its fields are Config's fields); kept
apart so the table stays readable. The docs list them after the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from otlp_arrow.config.fields import _setting
from otlp_arrow.config.values import (
    Secret,
    _parse_int,
    _parse_names,
    _parse_optional_path,
    _parse_tokens,
    parse_duration,
    parse_size,
)

_DAY = 86400.0


@dataclass(frozen=True)
class ExposureSettings:
    """Limits, TLS and authentication of the listeners (see docs/operations.md, "Securing
    otlp-arrow")."""

    max_connections: int = _setting(
        512,
        _parse_int,
        "Most connections open at once on each listener (OTLP/gRPC, OTLP/HTTP, the viewer); "
        "a connection beyond it is closed at once. Lowered at start so every listener's fits in "
        "the open-file limit (whose soft value is raised to the hard one where the platform "
        "allows).",
        low=1,
        high=1_000_000,
    )
    header_timeout: float = _setting(
        10.0,
        parse_duration,
        "Time a client has to send a request's headers, from connecting or, on a kept-alive "
        "connection, from the next request's first byte (OTLP/HTTP, the viewer; for OTLP/gRPC, "
        "the connection handshake). A connection that takes longer (slowloris) is closed; "
        "between requests, `idle_timeout` applies.",
        low=0.1,
        high=3600.0,
        unit="duration",
    )
    body_timeout: float = _setting(
        30.0,
        parse_duration,
        "Time an OTLP/HTTP client has to send a request's body once its headers are in; "
        "beyond it the answer is 408 and the connection is closed.",
        low=0.1,
        high=3600.0,
        unit="duration",
    )
    idle_timeout: float = _setting(
        30.0,
        parse_duration,
        "An idle connection (no request in progress) is closed after this long.",
        low=1.0,
        high=_DAY,
        unit="duration",
    )
    max_inflight_bytes: int = _setting(
        256 * 1024**2,
        parse_size,
        "Most bytes all requests being received, decompressed and converted may hold together "
        "(a request counts its body, its decompressed body and 3 times that for the "
        "conversion). A request beyond it is refused, 429 / `RESOURCE_EXHAUSTED` with a retry "
        "delay; one request alone is always admitted. 0: no limit.",
        low=1024**2,
        high=2**40,
        zero_ok=True,
        unit="size",
    )
    tls_cert_file: Path | None = _setting(
        None,
        _parse_optional_path,
        "PEM certificate (chain) every listener (OTLP/gRPC, OTLP/HTTP, the viewer) serves "
        "TLS with; with `tls_key_file`. Re-read on SIGHUP and when the file changes, "
        "without dropping connections. Empty: plaintext.",
        allowed="a file path",
    )
    tls_key_file: Path | None = _setting(
        None,
        _parse_optional_path,
        "PEM private key of `tls_cert_file`.",
        allowed="a file path",
    )
    tls_client_ca_file: Path | None = _setting(
        None,
        _parse_optional_path,
        "PEM CA certificates for mutual TLS: every client must present a certificate they "
        "signed. Empty: no client certificates asked for.",
        allowed="a file path",
    )
    auth_bearer_tokens: tuple[Secret, ...] = _setting(
        (),
        _parse_tokens,
        "Tokens a client must send as `Authorization: Bearer <token>` (gRPC metadata or HTTP "
        "header) to export, read `/metrics` or use the viewer's data; `/healthz` and `/readyz` "
        "stay open. Comma-separated; `file:PATH` reads one per line. Secrets: never shown. "
        "Empty: no authentication.",
        allowed="tokens of 16+ characters, or file:PATH",
    )
    viewer_allowed_hosts: tuple[str, ...] = _setting(
        (),
        _parse_names,
        "Host names the viewer answers besides IP addresses, `localhost`, this machine's name "
        "and `host` (the `Host` header is checked: DNS rebinding). Comma-separated.",
        allowed="host names",
    )
    viewer_query_timeout: float = _setting(
        10.0,
        parse_duration,
        "Longest a viewer query may run; beyond it the viewer answers 503 (narrow the query).",
        low=0.1,
        high=3600.0,
        unit="duration",
    )
    viewer_memory_limit: int = _setting(
        512 * 1024**2,
        parse_size,
        "DuckDB's memory limit for each viewer query; beyond it the viewer answers 503.",
        low=16 * 1024**2,
        high=2**40,
        unit="size",
    )
    replay_resolve_timeout: float = _setting(
        60.0,
        parse_duration,
        "How long `otlp-arrow replay` retries an endpoint whose host name does not resolve "
        "before it stops with exit code 1 (`serve` keeps retrying, counted).",
        low=0.1,
        high=_DAY,
        unit="duration",
    )

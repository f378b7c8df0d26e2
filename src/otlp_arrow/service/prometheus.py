"""otlp-arrow's own counters in the Prometheus text format (pure rendering, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from otlp_arrow.receivers.handover import Counters

_RECEIVER = [
    ("requests", "otlp_arrow_requests_total", "OTLP export requests received"),
    ("malformed_requests", "otlp_arrow_malformed_requests_total", "requests refused as malformed"),
    (
        "items_received",
        "otlp_arrow_items_received_total",
        "spans, data points or log records received",
    ),
    ("items_accepted", "otlp_arrow_items_accepted_total", "items accepted into the buffer"),
    ("bytes_received", "otlp_arrow_bytes_received_total", "request bytes received (as sent)"),
]


def render(receivers: Counters, library: dict[str, Any], ready: bool) -> str:
    """The text for ``GET /metrics``: receiver counters per signal and protocol, rejected items
    per reason, and the library's writer and buffer numbers."""
    lines: list[str] = []
    for key, name, text in _RECEIVER:
        _family(
            lines,
            name,
            "counter",
            text,
            (
                ({"signal": signal, "protocol": protocol}, values.get(key, 0))
                for (signal, protocol), values in sorted(receivers.items())
            ),
        )
    _family(
        lines,
        "otlp_arrow_items_rejected_total",
        "counter",
        "items not accepted, by reason",
        (
            ({"signal": signal, "protocol": protocol, "reason": name.split(":", 1)[1]}, value)
            for (signal, protocol), values in sorted(receivers.items())
            for name, value in sorted(values.items())
            if name.startswith("rejected:")
        ),
    )
    for key, name, text in (
        ("rows_written", "otlp_arrow_rows_written_total", "rows written to files"),
        ("files_opened", "otlp_arrow_files_opened_total", "files opened"),
    ):
        _family(
            lines,
            name,
            "counter",
            text,
            (({"signal": s}, v) for s, v in sorted(library[key].items())),
        )
    for key, name, kind, text in (
        (
            "batches_written",
            "otlp_arrow_batches_written_total",
            "counter",
            "record batches written",
        ),
        ("write_errors", "otlp_arrow_write_errors_total", "counter", "failed write rounds"),
        (
            "files_deleted",
            "otlp_arrow_files_deleted_total",
            "counter",
            "files deleted by retention",
        ),
        ("files_sealed", "otlp_arrow_files_sealed_total", "counter", "files sealed as Parquet"),
        ("seal_errors", "otlp_arrow_seal_errors_total", "counter", "files that failed to seal"),
        ("buffered_rows", "otlp_arrow_buffer_rows", "gauge", "rows waiting to be written"),
        ("buffered_bytes", "otlp_arrow_buffer_bytes", "gauge", "bytes waiting to be written"),
    ):
        _family(lines, name, kind, text, [({}, library[key])])
    _family(lines, "otlp_arrow_ready", "gauge", "1 when accepting data", [({}, int(ready))])
    if library.get("forward"):
        _forward(lines, library["forward"])
    return "\n".join(lines) + "\n"


def _forward(lines: list[str], forward: dict[str, Any]) -> None:
    for key, name, text in (
        ("rows_sent", "otlp_arrow_forward_rows_sent_total", "rows the endpoint accepted"),
        (
            "rows_rejected",
            "otlp_arrow_forward_rows_rejected_total",
            "rows the endpoint refused in partial_success",
        ),
        (
            "rows_failed",
            "otlp_arrow_forward_rows_failed_total",
            "rows given up after a permanent error (400, 401, INVALID_ARGUMENT, ...)",
        ),
        (
            "rows_dropped",
            "otlp_arrow_forward_rows_dropped_total",
            "rows dropped from the full forward queue (still in the local files)",
        ),
        (
            "rows_dropped_at_shutdown",
            "otlp_arrow_forward_rows_unsent_at_shutdown_total",
            "rows not yet sent when forwarding stopped (still in the local files)",
        ),
    ):
        _family(
            lines,
            name,
            "counter",
            text,
            (({"signal": s}, v) for s, v in sorted(forward[key].items())),
        )
    _family(
        lines,
        "otlp_arrow_forward_requests_total",
        "counter",
        "forwarded requests by outcome (ok, or the kind of failure)",
        (({"outcome": k}, v) for k, v in sorted(forward["requests"].items())),
    )
    for key, name, kind, text in (
        ("retries", "otlp_arrow_forward_retries_total", "counter", "retried requests"),
        ("queued_rows", "otlp_arrow_forward_queue_rows", "gauge", "rows waiting to be forwarded"),
        (
            "queued_bytes",
            "otlp_arrow_forward_queue_bytes",
            "gauge",
            "bytes waiting to be forwarded",
        ),
        (
            "breaker_state_number",
            "otlp_arrow_forward_breaker_state",
            "gauge",
            "circuit breaker: 0 closed, 1 open, 2 half-open",
        ),
        ("breaker_opened", "otlp_arrow_forward_breaker_opened_total", "counter", "times opened"),
    ):
        _family(lines, name, kind, text, [({}, forward[key])])


def _family(
    lines: list[str], name: str, kind: str, text: str, samples: Iterable[tuple[dict[str, str], int]]
) -> None:
    lines.append(f"# HELP {name} {text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines.append(f"{name}{{{label_text}}} {value}" if label_text else f"{name} {value}")

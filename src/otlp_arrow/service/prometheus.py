"""otlp-arrow's own counters in the Prometheus text format (pure rendering, no I/O).

Every sample is read from a typed field (``ReceiverCounters``, ``LibraryStats``,
``ForwardStats``), so renaming a counter fails the type check, not ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from otlp_arrow.forward.forwarder import ForwardStats
from otlp_arrow.library import LibraryStats
from otlp_arrow.receivers.handover import Counters, ReceiverCounters
from otlp_arrow.schema import Signal
from otlp_arrow.storage.upload import UploadStats

Samples = Iterable[tuple[dict[str, str], int | float]]

_RECEIVER: list[tuple[Callable[[ReceiverCounters], int], str, str]] = [
    (lambda c: c.requests, "otlp_arrow_requests_total", "OTLP export requests received"),
    (
        lambda c: c.malformed_requests,
        "otlp_arrow_malformed_requests_total",
        "requests refused as malformed",
    ),
    (
        lambda c: c.unauthenticated_requests,
        "otlp_arrow_unauthenticated_requests_total",
        "requests refused without a valid bearer token",
    ),
    (
        lambda c: c.items_received,
        "otlp_arrow_items_received_total",
        "spans, data points or log records received",
    ),
    (
        lambda c: c.items_accepted,
        "otlp_arrow_items_accepted_total",
        "items accepted into the buffer",
    ),
    (
        lambda c: c.bytes_received,
        "otlp_arrow_bytes_received_total",
        "request bytes received (as sent)",
    ),
]

_PER_SIGNAL: list[tuple[Callable[[LibraryStats], Mapping[Signal, int]], str, str]] = [
    (lambda s: s.rows_written, "otlp_arrow_rows_written_total", "rows written to files"),
    (lambda s: s.files_opened, "otlp_arrow_files_opened_total", "files opened"),
    (
        lambda s: s.rows_deleted,
        "otlp_arrow_rows_deleted_total",
        "rows in the files retention deleted",
    ),
]

_LIBRARY: list[tuple[Callable[[LibraryStats], int], str, str, str]] = [
    (
        lambda s: s.batches_written,
        "otlp_arrow_batches_written_total",
        "counter",
        "record batches written",
    ),
    (lambda s: s.write_errors, "otlp_arrow_write_errors_total", "counter", "failed write rounds"),
    (
        lambda s: s.files_deleted,
        "otlp_arrow_files_deleted_total",
        "counter",
        "files deleted by retention",
    ),
    (
        lambda s: s.files_sealed,
        "otlp_arrow_files_sealed_total",
        "counter",
        "files sealed as Parquet",
    ),
    (
        lambda s: s.seal_errors,
        "otlp_arrow_seal_errors_total",
        "counter",
        "files that failed to seal",
    ),
    (lambda s: s.buffered_rows, "otlp_arrow_buffer_rows", "gauge", "rows waiting to be written"),
    (
        lambda s: s.buffered_bytes,
        "otlp_arrow_buffer_bytes",
        "gauge",
        "bytes waiting to be written",
    ),
]

_FORWARD_PER_SIGNAL: list[tuple[Callable[[ForwardStats], Mapping[Signal, int]], str, str]] = [
    (lambda f: f.rows_sent, "otlp_arrow_forward_rows_sent_total", "rows the endpoint accepted"),
    (
        lambda f: f.rows_rejected,
        "otlp_arrow_forward_rows_rejected_total",
        "rows the endpoint refused in partial_success",
    ),
    (
        lambda f: f.rows_failed,
        "otlp_arrow_forward_rows_failed_total",
        "rows given up after a permanent error (400, 401, INVALID_ARGUMENT, ...)",
    ),
    (
        lambda f: f.rows_dropped,
        "otlp_arrow_forward_rows_dropped_total",
        "rows retention by size deleted before they were forwarded",
    ),
]

_FORWARD: list[tuple[Callable[[ForwardStats], int], str, str, str]] = [
    (lambda f: f.retries, "otlp_arrow_forward_retries_total", "counter", "retried requests"),
    (
        lambda f: f.lease_held,
        "otlp_arrow_forward_lease",
        "gauge",
        "1 while this process forwards the directory to the endpoint (holds the lease)",
    ),
    (
        lambda f: f.breaker_state_number,
        "otlp_arrow_forward_breaker_state",
        "gauge",
        "circuit breaker: 0 closed, 1 open, 2 half-open",
    ),
    (
        lambda f: f.breaker_opened,
        "otlp_arrow_forward_breaker_opened_total",
        "counter",
        "times opened",
    ),
]


def render(receivers: Counters, library: LibraryStats, ready: bool) -> str:
    """The text for ``GET /metrics``: receiver counters per signal and protocol, rejected items
    per reason, and the library's writer, buffer and forwarding numbers."""
    lines: list[str] = []
    keys = sorted(receivers)
    for counter, name, text in _RECEIVER:
        samples = (({"signal": s, "protocol": p}, counter(receivers[(s, p)])) for s, p in keys)
        _family(lines, name, "counter", text, samples)
    _family(
        lines,
        "otlp_arrow_items_rejected_total",
        "counter",
        "items not accepted, by reason",
        (
            ({"signal": s, "protocol": p, "reason": reason}, value)
            for s, p in keys
            for reason, value in sorted(receivers[(s, p)].items_rejected.items())
        ),
    )
    for get_map, name, text in _PER_SIGNAL:
        _per_signal(lines, name, text, get_map(library))
    for get, name, kind, text in _LIBRARY:
        _family(lines, name, kind, text, [({}, get(library))])
    _family(lines, "otlp_arrow_ready", "gauge", "1 when accepting data", [({}, int(ready))])
    forward = library.forward
    if forward is not None:
        for get_map_f, name, text in _FORWARD_PER_SIGNAL:
            _per_signal(lines, name, text, get_map_f(forward))
        _family(
            lines,
            "otlp_arrow_forward_requests_total",
            "counter",
            "forwarded requests by outcome (ok, or the kind of failure)",
            (({"outcome": k}, v) for k, v in sorted(forward.requests.items())),
        )
        for get_f, name, kind, text in _FORWARD:
            _family(lines, name, kind, text, [({}, get_f(forward))])
        _family(
            lines,
            "otlp_arrow_forward_lag_rows",
            "gauge",
            "rows stored but not forwarded yet",
            (({"signal": s}, v) for s, v in sorted(forward.lag_rows.items())),
        )
        _family(
            lines,
            "otlp_arrow_forward_lag_seconds",
            "gauge",
            "age of the oldest file holding rows not forwarded yet (an upper bound)",
            (({"signal": s}, round(v, 3)) for s, v in sorted(forward.lag_seconds.items())),
        )
    upload = library.upload
    if upload is not None:  # an object-store output
        for get_u, name, kind, text in _UPLOAD:
            _family(lines, name, kind, text, [({}, get_u(upload))])
    return "\n".join(lines) + "\n"


_UPLOAD: list[tuple[Callable[[UploadStats], int], str, str, str]] = [
    (lambda u: u.files_uploaded, "otlp_arrow_files_uploaded_total", "counter", "files uploaded"),
    (lambda u: u.upload_errors, "otlp_arrow_upload_errors_total", "counter", "failed uploads"),
    (lambda u: u.spool_bytes, "otlp_arrow_spool_bytes", "gauge", "bytes in the spool"),
    (lambda u: int(u.spool_full), "otlp_arrow_spool_full", "gauge", "1 while exports are refused"),
]


def with_labels(text: str, labels: Mapping[str, str]) -> str:
    """``text`` (as :func:`render` writes it) with ``labels`` added to every sample, first
    (``serve --workers``: ``worker="1"``)."""
    added = ",".join(f'{k}="{v}"' for k, v in labels.items())
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, rest = line.split(" ", 1)[0], line.split(" ", 1)[1]
            if name.endswith("}"):
                base, inner = name[:-1].split("{", 1)
                name = f"{base}{{{added},{inner}}}"
            else:
                name = f"{name}{{{added}}}"
            line = f"{name} {rest}"
        out.append(line)
    return "\n".join(out) + "\n"


def _per_signal(lines: list[str], name: str, text: str, values: Mapping[Signal, int]) -> None:
    _family(lines, name, "counter", text, (({"signal": s}, v) for s, v in sorted(values.items())))


def _family(lines: list[str], name: str, kind: str, text: str, samples: Samples) -> None:
    lines.append(f"# HELP {name} {text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines.append(f"{name}{{{label_text}}} {value}" if label_text else f"{name} {value}")

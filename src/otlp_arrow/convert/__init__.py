"""Conversion between OTLP protobuf messages and Arrow (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, overload

import pyarrow as pa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp_arrow.convert._columns import Converted
from otlp_arrow.convert.from_otlp import (
    logs_to_arrow,
    metrics_to_arrow,
    traces_to_arrow,
)
from otlp_arrow.convert.native import convert_bytes, convert_json
from otlp_arrow.convert.to_otlp import logs_to_otlp, metrics_to_otlp, traces_to_otlp
from otlp_arrow.errors import ConversionError, InputTypeError
from otlp_arrow.schema import SIGNALS, Signal, as_signal

OtlpRequest = ExportTraceServiceRequest | ExportMetricsServiceRequest | ExportLogsServiceRequest

__all__ = [
    "Converted",
    "OtlpRequest",
    "arrow_to_otlp",
    "convert_bytes",
    "convert_json",
    "convert_request",
    "otlp_to_arrow",
]


def convert_request(request: Any, *, strict: bool = True) -> Converted:
    """Convert any OTLP export request. With ``strict=False`` invalid items are left out and
    counted (``Converted.rejected``) instead of failing the whole request."""
    if isinstance(request, ExportTraceServiceRequest):
        return traces_to_arrow(request, strict=strict)
    if isinstance(request, ExportMetricsServiceRequest):
        return metrics_to_arrow(request, strict=strict)
    if isinstance(request, ExportLogsServiceRequest):
        return logs_to_arrow(request, strict=strict)
    raise InputTypeError(
        "expected an ExportTraceServiceRequest, ExportMetricsServiceRequest or "
        f"ExportLogsServiceRequest, got {type(request).__module__}.{type(request).__qualname__}"
    )


def otlp_to_arrow(
    request: OtlpRequest | bytes | bytearray | memoryview | str,
    signal: str | None = None,
    format: Literal["protobuf", "json"] = "protobuf",
) -> pa.Table:
    """Convert an OTLP export request to a ``pyarrow.Table`` of that signal's schema.

    ``request`` is a parsed request message, or a serialized one (``bytes``, ``bytearray``,
    ``memoryview``; ``str`` too for JSON): then ``signal`` ("traces", "metrics", "logs") is
    required and ``format`` says how it is encoded, ``"protobuf"`` (decoded by the native
    core when available) or ``"json"`` (OTLP/JSON). Both give the same table as the parsed
    message would.

    Raises :class:`~otlp_arrow.ConversionError` naming the offending field if any item
    cannot be stored losslessly (nothing is converted half-way), or if the bytes are not a
    valid request.
    """
    if isinstance(request, bytes | bytearray | memoryview) or (
        isinstance(request, str) and format == "json"
    ):
        if signal is None:
            raise ConversionError(
                f"signal is required with serialized input: one of {', '.join(SIGNALS)}"
            )
        if format == "protobuf":
            converted = convert_bytes(request, signal)
        elif format == "json":
            converted = convert_json(request, signal)
        else:
            raise ConversionError(f"unknown format {format!r}: expected 'protobuf' or 'json'")
        return pa.Table.from_batches([converted.batch])
    converted = convert_request(request)
    if signal is not None and signal != converted.signal:
        raise InputTypeError(
            f"signal {signal!r} does not match the request type {type(request).__qualname__}"
        )
    return pa.Table.from_batches([converted.batch])


@overload
def arrow_to_otlp(
    table: pa.Table | pa.RecordBatch, signal: Literal["traces"]
) -> ExportTraceServiceRequest: ...
@overload
def arrow_to_otlp(
    table: pa.Table | pa.RecordBatch, signal: Literal["metrics"]
) -> ExportMetricsServiceRequest: ...
@overload
def arrow_to_otlp(
    table: pa.Table | pa.RecordBatch, signal: Literal["logs"]
) -> ExportLogsServiceRequest: ...
@overload
def arrow_to_otlp(table: pa.Table | pa.RecordBatch, signal: str) -> OtlpRequest: ...
def arrow_to_otlp(table: pa.Table | pa.RecordBatch, signal: str) -> OtlpRequest:
    """Convert a table of a signal's schema back to the OTLP export request.

    ``signal`` is ``"traces"``, ``"metrics"`` or ``"logs"`` (any other name, as a caller may
    pass a plain ``str``, raises ConversionError). Equal resources and scopes are grouped
    together; rows keep their order.
    """
    return _TO_OTLP[as_signal(signal)](table)


_TO_OTLP: dict[Signal, Callable[[pa.Table | pa.RecordBatch], OtlpRequest]] = {
    "traces": traces_to_otlp,
    "metrics": metrics_to_otlp,
    "logs": logs_to_otlp,
}

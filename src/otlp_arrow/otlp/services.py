"""OTLP protocol facts shared by the receivers and the forwarder: per signal, the gRPC
service, the request and response messages, and the ``partial_success`` field that counts
rejected items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from otlp_arrow.schema import Signal


@dataclass(frozen=True)
class OtlpService:
    signal: Signal
    name: str
    request: Any
    response: Any
    rejected_field: str


SERVICES: dict[Signal, OtlpService] = {
    "traces": OtlpService(
        "traces",
        "opentelemetry.proto.collector.trace.v1.TraceService",
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
        "rejected_spans",
    ),
    "metrics": OtlpService(
        "metrics",
        "opentelemetry.proto.collector.metrics.v1.MetricsService",
        ExportMetricsServiceRequest,
        ExportMetricsServiceResponse,
        "rejected_data_points",
    ),
    "logs": OtlpService(
        "logs",
        "opentelemetry.proto.collector.logs.v1.LogsService",
        ExportLogsServiceRequest,
        ExportLogsServiceResponse,
        "rejected_log_records",
    ),
}


def export_method(signal: Signal) -> str:
    """The gRPC method path, ``/<service>/Export``."""
    return f"/{SERVICES[signal].name}/Export"

"""The OTLP/gRPC receiver on a loopback port, with the official OTLP exporters as clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExportResult
from opentelemetry.sdk.trace.export import SpanExportResult

from otlp_arrow import arrow_to_otlp, read_table
from otlp_arrow.errors import ReceiverError
from otlp_arrow.service import Service
from tests import sdk_data
from tests.otlp_compare import assert_same

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _call(service: Service, payload: bytes, metadata: Any = None) -> Any:
    with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        return channel.unary_unary(EXPORT)(payload, timeout=10, metadata=metadata)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("compression", [None, grpc.Compression.Gzip])
def test_official_exporters_send_all_signals(service: Service, compression: Any) -> None:
    endpoint = f"127.0.0.1:{service.grpc_port}"
    spans, records, metrics = (sdk_data.spans(), sdk_data.log_records(), sdk_data.metrics_data())
    options = {"endpoint": endpoint, "insecure": True, "compression": compression}
    assert OTLPSpanExporter(**options).export(spans) is SpanExportResult.SUCCESS
    assert OTLPLogExporter(**options).export(records) is LogRecordExportResult.SUCCESS
    assert OTLPMetricExporter(**options).export(metrics) is MetricExportResult.SUCCESS
    service.library.flush()
    out = service.config.output_dir
    assert_same(arrow_to_otlp(read_table(out, "traces"), "traces"), encode_spans(spans))
    assert_same(arrow_to_otlp(read_table(out, "logs"), "logs"), encode_logs(records))
    assert_same(arrow_to_otlp(read_table(out, "metrics"), "metrics"), encode_metrics(metrics))


def test_invalid_items_are_reported_in_partial_success(service: Service) -> None:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    spans.add(trace_id=b"t" * 16, span_id=b"s" * 8, name="kept")
    spans.add(trace_id=b"short", span_id=b"s" * 8, name="rejected")
    response = ExportTraceServiceResponse.FromString(_call(service, request.SerializeToString()))
    assert response.partial_success.rejected_spans == 1
    assert "spans[1].trace_id: expected 16 bytes, got 5 bytes" in (
        response.partial_success.error_message
    )
    service.library.flush()
    assert read_table(service.config.output_dir, "traces").column("name").to_pylist() == ["kept"]


def test_malformed_request_is_invalid_argument_and_the_server_keeps_serving(
    service: Service,
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        _call(service, b"\xff\x00garbage")
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed ExportTraceServiceRequest" in str(info.value.details())
    ok = ExportTraceServiceRequest()
    ok.resource_spans.add().scope_spans.add().spans.add(trace_id=b"t" * 16, span_id=b"s" * 8)
    assert (
        ExportTraceServiceResponse.FromString(_call(service, ok.SerializeToString()))
        == ExportTraceServiceResponse()
    )


def test_full_buffer_is_resource_exhausted_with_retry_info(tmp_path: Path) -> None:
    with Service(
        output_dir=tmp_path,
        grpc_port=0,
        http_port="off",
        max_buffer_rows=2,
        write_interval="1h",
        retry_after="2.5s",
    ) as service:
        request = ExportTraceServiceRequest()
        request.resource_spans.add().scope_spans.add().spans.extend(
            [Span(trace_id=b"t" * 16, span_id=bytes([i]) * 8) for i in range(3)]
        )
        with pytest.raises(grpc.RpcError) as info:
            _call(service, request.SerializeToString())
        assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        trailing: dict[str, Any] = dict(info.value.trailing_metadata())
        retry = RetryInfo.FromString(trailing["google.rpc.retryinfo-bin"])
        assert (retry.retry_delay.seconds, retry.retry_delay.nanos) == (2, 500_000_000)


def test_request_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    with Service(
        output_dir=tmp_path, grpc_port=0, http_port="off", max_receive_bytes="4KiB"
    ) as service:
        request = ExportTraceServiceRequest()
        span = (
            request.resource_spans.add()
            .scope_spans.add()
            .spans.add(trace_id=b"t" * 16, span_id=b"s" * 8)
        )
        span.name = "x" * 10_000
        with pytest.raises(grpc.RpcError) as info:
            _call(service, request.SerializeToString())
        assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_port_in_use_is_a_clear_error(service: Service, tmp_path: Path) -> None:
    with pytest.raises(ReceiverError, match="cannot listen for OTLP/gRPC"):
        Service(output_dir=tmp_path / "other", grpc_port=service.grpc_port, http_port="off").start()

"""otlp_arrow.testing.MockOtlpServer with the real SDK and the official OTLP exporters."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otlp_arrow.testing import MockOtlpServer


def test_mock_server_collects_what_instrumented_code_sends() -> None:
    with MockOtlpServer() as server:
        provider = TracerProvider()
        provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.grpc_endpoint, insecure=True))
        )
        tracer = provider.get_tracer("code under test")
        with tracer.start_as_current_span("GET /cart"), tracer.start_as_current_span("SELECT cart"):
            pass
        spans = server.wait_for("traces", 2, timeout=10)
        assert sorted(spans.column("name").to_pylist()) == ["GET /cart", "SELECT cart"]
        assert server.spans(name="SELECT cart").num_rows == 1

        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"{server.http_endpoint}/v1/metrics"),
            export_interval_millis=3_600_000,
        )
        meters = MeterProvider(metric_readers=[reader])
        meters.get_meter("m").create_counter("orders").add(3)
        meters.shutdown()
        assert server.wait_for("metrics", 1).num_rows == 1
        assert server.metrics(name="orders").column("value_int").to_pylist() == [3]
        assert server.logs().num_rows == 0
        server.clear()
        assert server.table("traces").num_rows == 0
        provider.shutdown()


def test_wait_for_says_how_many_arrived() -> None:
    with (
        MockOtlpServer() as server,
        pytest.raises(AssertionError, match=r"expected at least 1 logs rows within 0\.2 s, got 0"),
    ):
        server.wait_for("logs", 1, timeout=0.2)

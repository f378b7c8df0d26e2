"""Health, readiness and self-metrics of a running service, after real traffic."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp_arrow.service import Service

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _get(port: int | None, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def _sample(text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(f"{name}{{{label_text}}}" if labels else name) + r" (\S+)$"
    match = re.search(pattern, text, flags=re.MULTILINE)
    assert match, f"{name} {labels} not in /metrics"
    return float(match.group(1))


def test_health_readiness_and_metrics(tmp_path: Path) -> None:
    service = Service(output_dir=tmp_path, grpc_port=0, http_port=0, write_interval="10ms")
    assert service.ready is False
    service.start()
    try:
        assert _get(service.http_port, "/healthz") == (200, "ok\n")
        assert _get(service.http_port, "/readyz") == (200, "ready\n")
        request = ExportTraceServiceRequest()
        spans = request.resource_spans.add().scope_spans.add().spans
        for i in range(2):
            spans.add(trace_id=b"t" * 16, span_id=bytes([i + 1]) * 8)
        spans.add(trace_id=b"bad", span_id=b"s" * 8)
        payload = request.SerializeToString()
        with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            channel.unary_unary(EXPORT)(payload, timeout=10)
        bad = urllib.request.Request(
            f"http://127.0.0.1:{service.http_port}/v1/traces",
            data=b"\xff",
            method="POST",
            headers={"Content-Type": "application/x-protobuf"},
        )
        try:
            urllib.request.urlopen(bad, timeout=10).close()
        except urllib.error.HTTPError as error:
            error.close()
        service.library.flush()
        status, text = _get(service.http_port, "/metrics")
        assert status == 200
        grpc_traces = {"signal": "traces", "protocol": "grpc"}
        http_traces = {"signal": "traces", "protocol": "http"}
        assert _sample(text, "otlp_arrow_requests_total", **grpc_traces) == 1
        assert _sample(text, "otlp_arrow_bytes_received_total", **grpc_traces) == len(payload)
        assert _sample(text, "otlp_arrow_items_received_total", **grpc_traces) == 3
        assert _sample(text, "otlp_arrow_items_accepted_total", **grpc_traces) == 2
        assert (
            _sample(text, "otlp_arrow_items_rejected_total", **grpc_traces, reason="invalid") == 1
        )
        assert _sample(text, "otlp_arrow_malformed_requests_total", **http_traces) == 1
        assert _sample(text, "otlp_arrow_rows_written_total", signal="traces") == 2
        assert _sample(text, "otlp_arrow_buffer_rows") == 0
        assert _sample(text, "otlp_arrow_ready") == 1
        stats = service.stats()
        assert stats["receivers"][("traces", "grpc")]["items_accepted"] == 2
        assert stats["rows_written"] == {"traces": 2}
    finally:
        service.stop()
    assert service.ready is False

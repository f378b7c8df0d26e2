"""The OTLP/HTTP receiver on a loopback port: the official OTLP/HTTP exporters, OTLP/JSON
test vectors, and every error status the specification asks for."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExportResult
from opentelemetry.sdk.trace.export import SpanExportResult

from otlp_arrow import arrow_to_otlp, read_table
from otlp_arrow.service import Service
from tests import sdk_data
from tests.otlp_compare import assert_same

PROTOBUF = "application/x-protobuf"


def _post(
    service: Service,
    path: str,
    body: bytes,
    content_type: str = PROTOBUF,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{service.http_port}{path}",
        data=body,
        method="POST",
        headers={"Content-Type": content_type, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_official_http_exporters_send_all_signals(service: Service, compression: Any) -> None:
    base = f"http://127.0.0.1:{service.http_port}/v1"
    spans, records = sdk_data.spans(), sdk_data.log_records()
    metrics = sdk_data.metrics_data()
    assert (
        OTLPSpanExporter(endpoint=f"{base}/traces", compression=compression).export(spans)
        is SpanExportResult.SUCCESS
    )
    assert (
        OTLPLogExporter(endpoint=f"{base}/logs", compression=compression).export(records)
        is LogRecordExportResult.SUCCESS
    )
    assert (
        OTLPMetricExporter(endpoint=f"{base}/metrics", compression=compression).export(metrics)
        is MetricExportResult.SUCCESS
    )
    service.library.flush()
    out = service.config.output_dir
    assert_same(arrow_to_otlp(read_table(out, "traces"), "traces"), encode_spans(spans))
    assert_same(arrow_to_otlp(read_table(out, "logs"), "logs"), encode_logs(records))
    assert_same(arrow_to_otlp(read_table(out, "metrics"), "metrics"), encode_metrics(metrics))


JSON_SPANS = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]
            },
            "scopeSpans": [
                {
                    "scope": {"name": "lib", "version": "1"},
                    "spans": [
                        {
                            "traceId": "5B8EFFF798038103D269B633813FC60C",
                            "spanId": "EEE19B7EC3C1B174",
                            "parentSpanId": "",
                            "name": "root",
                            "kind": 2,
                            "startTimeUnixNano": "1544712660000000000",
                            "endTimeUnixNano": 1544712661000000000,
                            "attributes": [
                                {"key": "count", "value": {"intValue": "9223372036854775807"}},
                                {"key": "ratio", "value": {"doubleValue": 0.5}},
                            ],
                            "status": {"code": 2, "message": "boom"},
                            "somethingNew": {"ignored": True},
                        },
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b175",
                            "parentSpanId": "eee19b7ec3c1b174",
                            "name": "child",
                            "startTimeUnixNano": 1544712660500000000,
                            "endTimeUnixNano": "1544712660600000000",
                            "links": [
                                {
                                    "traceId": "00000000000000000000000000000001",
                                    "spanId": "0000000000000002",
                                }
                            ],
                        },
                    ],
                }
            ],
        }
    ],
}


def test_otlp_json_vectors_parse_to_the_expected_rows(service: Service) -> None:
    status, headers, body = _post(
        service, "/v1/traces", json.dumps(JSON_SPANS).encode(), "application/json"
    )
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body) == {}
    service.library.flush()
    table = read_table(service.config.output_dir, "traces")
    rows = {
        r["name"]: r
        for r in table.select(
            [
                "name",
                "trace_id",
                "span_id",
                "parent_span_id",
                "kind",
                "duration_ns",
                "status_code",
                "status_message",
                "service_name",
            ]
        ).to_pylist()
    }
    root, child = rows["root"], rows["child"]
    assert root["trace_id"].hex() == "5b8efff798038103d269b633813fc60c"
    assert root["parent_span_id"] is None and child["parent_span_id"].hex() == "eee19b7ec3c1b174"
    assert (root["kind"], root["status_code"], root["status_message"]) == (2, 2, "boom")
    assert root["duration_ns"] == 1_000_000_000 and child["duration_ns"] == 100_000_000
    assert root["service_name"] == "json-svc"
    back = arrow_to_otlp(table, "traces")
    attrs = {kv.key: kv.value for kv in back.resource_spans[0].scope_spans[0].spans[0].attributes}
    assert attrs["count"].int_value == 2**63 - 1 and attrs["ratio"].double_value == 0.5
    link = back.resource_spans[0].scope_spans[0].spans[1].links[0]
    assert link.trace_id.hex().endswith("01") and link.span_id.hex() == "0000000000000002"


def test_partial_success_is_encoded_like_the_request(service: Service) -> None:
    bad = json.loads(json.dumps(JSON_SPANS))
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["spanId"] = "abcd"
    status, _, body = _post(service, "/v1/traces", json.dumps(bad).encode(), "application/json")
    assert status == 200
    partial = json.loads(body)["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "spans[1].span_id: expected 8 bytes, got 2 bytes" in partial["errorMessage"]
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"x", span_id=b"s" * 8)
    status, _, body = _post(service, "/v1/traces", request.SerializeToString())
    response = ExportTraceServiceResponse.FromString(body)
    assert status == 200 and response.partial_success.rejected_spans == 1


@pytest.mark.parametrize(
    ("body", "content_type", "headers", "code", "message"),
    [
        (b"\xff\x00garbage", PROTOBUF, {}, 400, "malformed ExportTraceServiceRequest"),
        (b"{not json", "application/json", {}, 400, "not valid JSON"),
        (b'{"resourceSpans": 5}', "application/json", {}, 400, "malformed"),
        (
            json.dumps(
                {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}
            ).encode(),
            "application/json",
            {},
            400,
            "traceId: 'xyz' is not a hex id",
        ),
        (b"data", "text/plain", {}, 415, "unsupported Content-Type 'text/plain'"),
        (b"data", PROTOBUF, {"Content-Encoding": "br"}, 415, "unsupported Content-Encoding"),
        (b"not gzip", PROTOBUF, {"Content-Encoding": "gzip"}, 400, "not valid gzip"),
        (b"x" * 70_000, PROTOBUF, {}, 413, "larger than 65536 bytes"),
        (
            gzip.compress(b"\0" * 50_000_000),
            PROTOBUF,
            {"Content-Encoding": "gzip"},
            413,
            "larger than 65536 bytes after decompression",
        ),
    ],
)
def test_errors_have_the_right_status_and_say_what_is_wrong(
    service: Service,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    code: int,
    message: str,
) -> None:
    status, _, response = _post(service, "/v1/traces", body, content_type, headers)
    assert status == code
    text = (
        json.loads(response)["message"]
        if content_type == "application/json"
        else Status.FromString(response).message
    )
    assert message in text
    ok, _, _ = _post(service, "/v1/traces", ExportTraceServiceRequest().SerializeToString())
    assert ok == 200  # still serving


def test_full_buffer_is_429_with_retry_after(tmp_path: Path) -> None:
    with Service(
        output_dir=tmp_path,
        grpc_port="off",
        http_port=0,
        max_buffer_rows=1,
        write_interval="1h",
        retry_after="3s",
        durability="buffered",  # acknowledged in memory: the buffer can fill up
    ) as service:
        status, headers, _ = _post(
            service, "/v1/traces", json.dumps(JSON_SPANS).encode(), "application/json"
        )
        assert status == 429 and headers["retry-after"] == "3"
        one_span = json.loads(json.dumps(JSON_SPANS))
        del one_span["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
        assert (
            _post(service, "/v1/traces", json.dumps(one_span).encode(), "application/json")[0]
            == 200
        )  # what fits is still taken
        assert (
            _post(service, "/v1/traces", json.dumps(one_span).encode(), "application/json")[0]
            == 429
        )  # full now
        service.library.flush()  # the writer drains the buffer...
        with urllib.request.urlopen(f"http://127.0.0.1:{service.http_port}/readyz") as ready:
            assert ready.status == 200
        assert (
            _post(service, "/v1/traces", json.dumps(one_span).encode(), "application/json")[0]
            == 200
        )  # ...and the server takes data again


def test_cors_is_off_by_default_and_configurable(tmp_path: Path, service: Service) -> None:
    def preflight(port: int | None) -> dict[str, str]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/traces",
            method="OPTIONS",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return dict(response.headers)
        except urllib.error.HTTPError as error:
            with error:
                return dict(error.headers)

    assert "access-control-allow-origin" not in preflight(service.http_port)
    with Service(
        output_dir=tmp_path / "cors",
        grpc_port="off",
        http_port=0,
        cors_origins="https://app.example.com",
    ) as with_cors:
        allowed = preflight(with_cors.http_port)
    assert allowed["access-control-allow-origin"] == "https://app.example.com"

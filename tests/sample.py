"""Deterministic sample telemetry as OTLP requests: a small web shop (demo and benchmarks)."""

from __future__ import annotations

import random
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality
from opentelemetry.proto.trace.v1.trace_pb2 import Status

CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA

ROUTES = ("/", "/cart", "/checkout", "/products/{id}", "/search")
SERVICES = ("frontend", "cart", "payment")


def kv(key: str, value: Any) -> KeyValue:
    """A KeyValue from a Python value (bool, int, float, str, bytes, or a list of them)."""
    return KeyValue(key=key, value=any_value(value))


def any_value(value: Any) -> AnyValue:
    """An AnyValue from a Python value (bool, int, float, str, bytes, or a list of them)."""
    result = AnyValue()
    if isinstance(value, list | tuple):
        result.array_value.values.extend(any_value(item) for item in value)
    elif isinstance(value, bool):
        result.bool_value = value
    elif isinstance(value, int):
        result.int_value = value
    elif isinstance(value, float):
        result.double_value = value
    elif isinstance(value, bytes):
        result.bytes_value = value
    else:
        result.string_value = str(value)
    return result


def _resource(holder: Any, service: str) -> None:
    holder.resource.attributes.extend(
        [
            kv("service.name", service),
            kv("service.version", "1.4.2"),
            kv("deployment.environment", "demo"),
            kv("host.name", "shop-1"),
        ]
    )
    holder.schema_url = "https://opentelemetry.io/schemas/1.26.0"


def traces(n_spans: int, *, start_ns: int, seed: int = 1) -> ExportTraceServiceRequest:
    """``n_spans`` spans with 12 attributes of mixed types and one event each, in traces of
    up to 4 spans (a server span and its children), spread over the three services."""
    rng = random.Random(seed)
    request = ExportTraceServiceRequest()
    scopes = {}
    for service in SERVICES:
        rs = request.resource_spans.add()
        _resource(rs, service)
        ss = rs.scope_spans.add()
        ss.scope.name, ss.scope.version = "shop.instrumentation", "0.9.0"
        scopes[service] = ss
    made = 0
    while made < n_spans:
        trace_id = rng.randbytes(16)
        root = rng.randbytes(8)
        route = rng.choice(ROUTES)
        t0 = start_ns + made * 1_000_000
        for depth in range(min(4, n_spans - made)):
            service = SERVICES[min(depth, 2)]
            duration = rng.randint(200_000, 80_000_000) // (depth + 1)
            error = rng.random() < 0.03
            span = scopes[service].spans.add(
                trace_id=trace_id,
                span_id=root if depth == 0 else rng.randbytes(8),
                parent_span_id=b"" if depth == 0 else root,
                name=f"GET {route}"
                if depth == 0
                else rng.choice(("SELECT products", "cache.get", "POST /charge")),
                kind=2 if depth == 0 else 3,
                flags=0x101,
                start_time_unix_nano=t0 + depth * 10_000,
                end_time_unix_nano=t0 + depth * 10_000 + duration,
            )
            span.attributes.extend(
                [
                    kv("http.request.method", "GET"),
                    kv("http.route", route),
                    kv("http.response.status_code", 500 if error else 200),
                    kv("url.full", f"https://shop.example{route}?q={rng.randint(0, 10**6)}"),
                    kv("server.port", 443),
                    kv("user.id", f"user-{rng.randint(1, 5000)}"),
                    kv("cache.hit", rng.random() < 0.7),
                    kv("db.rows", rng.randint(0, 500)),
                    kv("load.factor", round(rng.random(), 3)),
                    kv("cloud.region", "eu-west-1"),
                    kv("tags", ["shop", route]),
                    kv("payload.size", rng.random() * 10_000),
                ]
            )
            event = span.events.add(
                time_unix_nano=t0 + depth * 10_000 + duration // 2,
                name="exception" if error else "cache.lookup",
            )
            event.attributes.append(
                kv("exception.message", "card declined") if error else kv("cache.key", route)
            )
            if error:
                span.status.code = Status.STATUS_CODE_ERROR
                span.status.message = "card declined"
            made += 1
    return request


def metrics(n_points: int, *, time_ns: int, seed: int = 1) -> ExportMetricsServiceRequest:
    """About ``n_points`` data points spread over every metric type."""
    rng = random.Random(seed)
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    _resource(rm, "frontend")
    sm = rm.scope_metrics.add()
    sm.scope.name = "shop.metrics"
    per_type = max(1, n_points // 5)
    start = time_ns - 60_000_000_000
    requests = sm.metrics.add(
        name="http.server.requests", unit="{request}", description="Requests served"
    )
    requests.sum.aggregation_temporality = CUMULATIVE
    requests.sum.is_monotonic = True
    gauge = sm.metrics.add(name="process.memory.usage", unit="By")
    latency = sm.metrics.add(name="http.server.duration", unit="ms")
    latency.histogram.aggregation_temporality = CUMULATIVE
    exp = sm.metrics.add(name="db.query.duration", unit="ms")
    exp.exponential_histogram.aggregation_temporality = DELTA
    summary = sm.metrics.add(name="gc.pause", unit="ms")
    for i in range(per_type):
        route = [kv("http.route", ROUTES[i % len(ROUTES)]), kv("instance", i)]
        requests.sum.data_points.add(
            attributes=route,
            start_time_unix_nano=start,
            time_unix_nano=time_ns,
            as_int=rng.randint(1, 10**6),
        )
        gauge.gauge.data_points.add(
            attributes=route, time_unix_nano=time_ns, as_double=rng.random() * 2**30
        )
        counts = [rng.randint(0, 100) for _ in range(6)]
        latency.histogram.data_points.add(
            attributes=route,
            start_time_unix_nano=start,
            time_unix_nano=time_ns,
            count=sum(counts),
            sum=sum(counts) * 12.5,
            bucket_counts=counts,
            explicit_bounds=[5, 10, 25, 50, 100],
            min=0.4,
            max=180.0,
        )
        point = exp.exponential_histogram.data_points.add(
            attributes=route,
            start_time_unix_nano=start,
            time_unix_nano=time_ns,
            count=sum(counts),
            sum=sum(counts) * 3.0,
            scale=3,
            zero_count=1,
            min=0.1,
            max=90.0,
        )
        point.positive.offset, point.positive.bucket_counts[:] = 2, counts
        q = summary.summary.data_points.add(
            attributes=route, time_unix_nano=time_ns, count=10, sum=42.0
        )
        q.quantile_values.add(quantile=0.5, value=3.0)
        q.quantile_values.add(quantile=0.99, value=11.0)
    return request


def logs(
    n_records: int,
    *,
    start_ns: int,
    seed: int = 1,
    traces_request: ExportTraceServiceRequest | None = None,
) -> ExportLogsServiceRequest:
    """``n_records`` log records of mixed severity, each with trace context: from spans of
    ``traces_request`` when given (so logs join their spans), else random ids."""
    rng = random.Random(seed)
    contexts = [
        (span.trace_id, span.span_id)
        for rs in (traces_request or ExportTraceServiceRequest()).resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    _resource(rl, "frontend")
    sl = rl.scope_logs.add()
    sl.scope.name = "shop.logging"
    severities = ((9, "INFO"), (9, "INFO"), (13, "WARN"), (17, "ERROR"), (5, "DEBUG"))
    for i in range(n_records):
        number, text = rng.choice(severities)
        record = sl.log_records.add(
            time_unix_nano=start_ns + i * 1_000_000,
            observed_time_unix_nano=start_ns + i * 1_000_000 + 500,
            severity_number=number,
            severity_text=text,
            flags=1,
        )
        if contexts:
            record.trace_id, record.span_id = rng.choice(contexts)
        else:
            record.trace_id, record.span_id = rng.randbytes(16), rng.randbytes(8)
        record.body.string_value = (
            f"{text.lower()}: handled {rng.choice(ROUTES)} in {rng.randint(1, 90)} ms"
        )
        record.attributes.extend(
            [kv("code.function", "handle"), kv("thread.id", rng.randint(1, 8))]
        )
    return request

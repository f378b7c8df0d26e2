"""Telemetry made by the real OpenTelemetry SDK, for fidelity tests (the official OTLP encoder
is the oracle)."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

RESOURCE = Resource.create(
    {
        "service.name": "checkout",
        "service.instance.id": "i-1",
        "host.cpu.count": 8,
        "deployment.canary": True,
        "process.runtime.version": 3.11,
    },
    schema_url="https://opentelemetry.io/schemas/1.26.0",
)
OTHER_RESOURCE = Resource.create({"service.name": "payments"})
ATTRS: dict[str, Any] = {
    "s": "text",
    "unicode": "grüße ✓",
    "empty": "",
    "i": -(2**63),
    "big": 2**63 - 1,
    "f": 1.5,
    "inf": float("inf"),
    "b": False,
    "ls": ("a", "b"),
    "li": (1, 2, 3),
    "lf": (0.5, float("-inf")),
    "lb": (True, False),
    "empty_list": (),
}


def spans() -> list[ReadableSpan]:
    """Spans with every attribute type, events, links, exceptions, status, nested and remote
    parents, trace state, two resources and several scopes."""
    exporter = InMemorySpanExporter()
    providers = [TracerProvider(resource=RESOURCE), TracerProvider(resource=OTHER_RESOURCE)]
    for provider in providers:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = providers[0].get_tracer(
        "shop", "1.2", schema_url="https://example.com/s", attributes={"scope.attr": 1}
    )
    db = providers[0].get_tracer("db")
    remote = SpanContext(
        trace_id=0x1234,
        span_id=0x99,
        is_remote=True,
        trace_flags=TraceFlags(1),
        trace_state=TraceState([("vendor", "abc"), ("other", "1")]),
    )
    parent = trace_api.set_span_in_context(trace_api.NonRecordingSpan(remote))
    with tracer.start_as_current_span(
        "root", context=parent, kind=SpanKind.SERVER, attributes=ATTRS
    ) as root:
        root.add_event("evt", {"k": "v", "n": 3})
        root.add_event("bare")
        with db.start_as_current_span(
            "child",
            kind=SpanKind.CLIENT,
            links=[Link(root.get_span_context(), {"l": 1}), Link(remote)],
        ):
            pass
        try:
            with tracer.start_as_current_span("failing", kind=SpanKind.INTERNAL):
                raise ValueError("boom")
        except ValueError:
            pass
        root.set_status(Status(StatusCode.OK))
    with (
        providers[1]
        .get_tracer("pay")
        .start_as_current_span("charge", kind=SpanKind.PRODUCER) as charge
    ):
        charge.set_status(Status(StatusCode.ERROR, "card declined"))
    providers[1].get_tracer("pay").start_span("consumer", kind=SpanKind.CONSUMER).end()
    for provider in providers:
        provider.shutdown()
    return list(exporter.get_finished_spans())


def log_records() -> list[Any]:
    """Log records with every body type, trace context, attributes, event names, from the
    stdlib logging handler and the Logs API, over two scopes."""
    import logging

    from opentelemetry._logs import SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import (
        InMemoryLogRecordExporter,
        SimpleLogRecordProcessor,
    )

    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger("tests.sdk_data")
    logger.propagate = False
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    tracer_provider = TracerProvider(resource=RESOURCE)
    try:
        with tracer_provider.get_tracer("t").start_as_current_span("in-span"):
            logger.warning("hello %s", "world", extra={"user": "ann", "n": 2})
        logger.error("no trace context")
    finally:
        logger.removeHandler(handler)
    api_logger = provider.get_logger("api", "2.0", schema_url="https://example.com/l")
    bodies: list[Any] = [
        None,
        "text",
        42,
        2.5,
        True,
        b"\x00\x01",
        ["a", 1, 2.0],
        {"k": "v", "nested": {"x": [1, 2]}},
        "",
    ]
    for i, body in enumerate(bodies):
        api_logger.emit(
            body=body,
            severity_number=SeverityNumber(1 + i),
            severity_text=f"S{i}",
            attributes={"i": i, "tags": ("x", "y")},
            event_name="evt" if i % 2 else None,
        )
    provider.shutdown()
    return list(exporter.get_finished_logs())


def metrics_data(exemplars: bool = True) -> Any:
    """``MetricsData`` with every instrument kind (explicit and exponential histograms),
    attributes, and exemplars recorded inside and outside a span."""
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics._internal.exemplar import (
        AlwaysOffExemplarFilter,
        AlwaysOnExemplarFilter,
    )
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View

    def observe(value: float) -> Any:
        def callback(_: CallbackOptions) -> list[Observation]:
            return [Observation(value, {"obs": "yes", "n": 1})]

        return callback

    reader = InMemoryMetricReader()
    provider = MeterProvider(
        resource=RESOURCE,
        metric_readers=[reader],
        views=[View(instrument_name="exp*", aggregation=ExponentialBucketHistogramAggregation())],
        exemplar_filter=AlwaysOnExemplarFilter() if exemplars else AlwaysOffExemplarFilter(),
    )
    meter = provider.get_meter(
        "shop", "1.0", schema_url="https://example.com/m", attributes={"meter.attr": True}
    )
    other = provider.get_meter("other")
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("work"):
        meter.create_counter("c", unit="1", description="a counter").add(5, {"route": "/"})
        meter.create_histogram("h", unit="ms").record(12.5, {"x": 1.0})
    meter.create_counter("cf").add(2.5)
    meter.create_up_down_counter("ud").add(-3, {"a": True, "tags": ("p", "q")})
    meter.create_histogram("h").record(3, {"x": 2.0})
    for value in (0.5, 7.0, -2.0, 0.0, 1e6):
        meter.create_histogram("exp.latency").record(value)
    meter.create_gauge("g").set(3.25, {"unit": "cpu"})
    other.create_gauge("gi").set(7)
    other.create_observable_counter("oc", [observe(10)])
    other.create_observable_gauge("og", [observe(1.5)])
    other.create_observable_up_down_counter("oud", [observe(-2)])
    data = reader.get_metrics_data()
    provider.shutdown()
    return data

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

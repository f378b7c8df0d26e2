"""Data produced by the real OpenTelemetry SDK, encoded by the official OTLP encoder,
survives OTLP -> Arrow -> OTLP unchanged."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

from otlp_arrow import arrow_to_otlp, otlp_to_arrow
from tests import sdk_data
from tests.otlp_compare import assert_same

RESOURCE = Resource.create(
    {
        "service.name": "checkout",
        "service.instance.id": "i-1",
        "host.cpu.count": 8,
        "deployment.canary": True,
    }
)
ATTRS = {
    "s": "text",
    "i": -(2**63),
    "f": 1.5,
    "b": False,
    "ls": ("a", "b"),
    "li": (1, 2, 3),
    "lf": (0.5, float("inf")),
    "lb": (True, False),
    "empty": (),
}


def test_sdk_spans_roundtrip() -> None:
    request = encode_spans(sdk_data.spans())
    assert_same(arrow_to_otlp(otlp_to_arrow(request), "traces"), request)


def test_sdk_metrics_roundtrip() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(
        resource=RESOURCE,
        metric_readers=[reader],
        views=[View(instrument_name="exp", aggregation=ExponentialBucketHistogramAggregation())],
    )
    meter = provider.get_meter("shop", "1.0")
    meter.create_counter("c").add(5, {"route": "/"})
    meter.create_up_down_counter("ud").add(-3, {"a": True})
    meter.create_histogram("h", unit="ms").record(12.5, {"x": 1.0})
    meter.create_histogram("exp").record(7.0)
    meter.create_gauge("g").set(3.25)
    meter.create_observable_counter("oc", [lambda _: [_obs(10)]])
    meter.create_observable_gauge("og", [lambda _: [_obs(1.5)]])
    meter.create_observable_up_down_counter("oud", [lambda _: [_obs(-2)]])
    data = reader.get_metrics_data()
    provider.shutdown()
    request = encode_metrics(data)
    kinds = {
        m.WhichOneof("data")
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert kinds == {"sum", "gauge", "histogram", "exponential_histogram"}
    assert_same(arrow_to_otlp(otlp_to_arrow(request), "metrics"), request)


def _obs(value: float) -> object:
    from opentelemetry.metrics import Observation

    return Observation(value, {"obs": "yes"})


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sdk_logs_roundtrip() -> None:
    request = encode_logs(sdk_data.log_records())
    assert request.resource_logs[0].scope_logs[0].log_records[0].trace_id
    assert_same(arrow_to_otlp(otlp_to_arrow(request), "logs"), request)

"""Data produced by the real OpenTelemetry SDK, encoded by the official OTLP encoder,
survives OTLP -> Arrow -> OTLP unchanged."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from otlp_arrow import arrow_to_otlp, otlp_to_arrow
from tests import sdk_data
from tests.otlp_compare import assert_same


def test_sdk_spans_roundtrip() -> None:
    request = encode_spans(sdk_data.spans())
    assert_same(arrow_to_otlp(otlp_to_arrow(request), "traces"), request)


def test_sdk_metrics_roundtrip() -> None:
    data = sdk_data.metrics_data()
    request = encode_metrics(data)
    kinds = {
        m.WhichOneof("data")
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert kinds == {"sum", "gauge", "histogram", "exponential_histogram"}
    assert_same(arrow_to_otlp(otlp_to_arrow(request), "metrics"), request)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sdk_logs_roundtrip() -> None:
    request = encode_logs(sdk_data.log_records())
    assert request.resource_logs[0].scope_logs[0].log_records[0].trace_id
    assert_same(arrow_to_otlp(otlp_to_arrow(request), "logs"), request)

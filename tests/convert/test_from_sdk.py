"""SDK objects converted directly to Arrow give exactly what the official OTLP encoder sends."""

from __future__ import annotations

import logging

import pyarrow.compute as pc
import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from otlp_arrow import arrow_to_otlp
from otlp_arrow.convert.from_sdk import logs_to_arrow, metrics_to_arrow, spans_to_arrow
from otlp_arrow.schema import TRACES_SCHEMA
from tests import sdk_data
from tests.otlp_compare import assert_same


def test_spans_match_the_official_encoder() -> None:
    spans = sdk_data.spans()
    batch = spans_to_arrow(spans).batch
    assert batch.schema.equals(TRACES_SCHEMA) and batch.num_rows == len(spans) == 5
    assert_same(arrow_to_otlp(batch, "traces"), encode_spans(spans))


def test_unencodable_attribute_is_left_out_like_the_encoder_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spans = sdk_data.spans()
    span = spans[0]
    span._attributes = dict(span.attributes or {}, bad=object(), huge=2**70)
    with caplog.at_level(logging.WARNING):
        batch = spans_to_arrow([span]).batch
    assert_same(arrow_to_otlp(batch, "traces"), encode_spans([span]))
    assert "attribute 'bad' left out" in caplog.text
    assert "attribute 'huge' left out" in caplog.text


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_log_records_match_the_official_encoder() -> None:
    records = sdk_data.log_records()
    batch = logs_to_arrow(records).batch
    assert batch.num_rows == len(records) == 11
    assert_same(arrow_to_otlp(batch, "logs"), encode_logs(records))


def test_metrics_match_the_official_encoder() -> None:
    data = sdk_data.metrics_data()
    batch = metrics_to_arrow(data).batch
    request = encode_metrics(data)
    kinds = {
        m.WhichOneof("data")
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert kinds == {"sum", "gauge", "histogram", "exponential_histogram"}
    exemplars = pc.sum(pc.list_value_length(batch.column("exemplars"))).as_py()
    assert exemplars >= 2  # exemplars are really there
    assert_same(arrow_to_otlp(batch, "metrics"), request)

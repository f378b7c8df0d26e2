"""SDK objects converted directly to Arrow give exactly what the official OTLP encoder sends."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from otlp_arrow import arrow_to_otlp
from otlp_arrow.convert.from_sdk import spans_to_arrow
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

"""The native SDK metrics reader (``native/src/sdk_metrics.rs``) against its specification,
the Python collector (``from_sdk.metrics_to_arrow``): on generated ``MetricsData`` of every
metric type, the same table whenever the native core takes the data, and it takes all data
made of plain values; the rest goes to the collector, which decides as before."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics._internal.exemplar import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Buckets,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)

from otlp_arrow import arrow_to_otlp
from otlp_arrow.convert.from_sdk import convert_sdk, metrics_to_arrow
from otlp_arrow.convert.native import convert_sdk_metrics, uses_native
from tests import sdk_data
from tests.otlp_compare import assert_same
from tests.sdk_strategies import (
    ODD_VALUES,
    PLAIN_VALUES,
    RESOURCES,
    SCOPES,
    TEXT,
    agree,
    attributes,
    same,
)

pytestmark = pytest.mark.skipif(not uses_native("metrics"), reason="the native core is not built")

TIME = st.integers(0, 2**63 - 1)
COUNT = st.integers(0, 2**64 - 1)
FLOAT = st.floats(allow_nan=True, allow_infinity=True)


@st.composite
def _exemplars(draw: Any, attrs: st.SearchStrategy[Any]) -> list[Exemplar]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        with_ids = draw(st.booleans())
        out.append(
            Exemplar(
                draw(attrs),
                draw(FLOAT | st.integers(-(2**63), 2**63 - 1)),
                draw(TIME),
                draw(st.integers(0, 2**64 - 1)) if with_ids else None,
                draw(st.integers(0, 2**128 - 1)) if with_ids or draw(st.booleans()) else None,
            )
        )
    return out


@st.composite
def _metric(draw: Any, values: st.SearchStrategy[Any]) -> Metric:
    attrs = attributes(values)
    kind = draw(st.sampled_from(["gauge", "sum", "histogram", "exponential"]))
    temporality = draw(st.sampled_from(list(AggregationTemporality)))
    n = draw(st.integers(0, 3))
    data: Any
    if kind in ("gauge", "sum"):
        value = FLOAT | st.integers(-(2**63), 2**63 - 1) | st.booleans()
        points = [
            NumberDataPoint(
                draw(attrs), draw(TIME), draw(TIME), draw(value), draw(_exemplars(attrs))
            )
            for _ in range(n)
        ]
        data = Gauge(points) if kind == "gauge" else Sum(points, temporality, draw(st.booleans()))
    elif kind == "histogram":
        hist = [
            HistogramDataPoint(
                draw(attrs),
                draw(TIME),
                draw(TIME),
                draw(COUNT),
                draw(FLOAT | st.integers(-(2**53), 2**53)),
                draw(st.lists(COUNT, max_size=4)),
                draw(st.lists(FLOAT, max_size=3)),
                draw(FLOAT),
                draw(FLOAT),
                draw(_exemplars(attrs)),
            )
            for _ in range(n)
        ]
        data = Histogram(hist, temporality)
    else:
        buckets = st.builds(Buckets, st.integers(-(2**31), 2**31 - 1), st.lists(COUNT, max_size=4))
        exp = [
            ExponentialHistogramDataPoint(
                draw(attrs),
                draw(TIME),
                draw(TIME),
                draw(COUNT),
                draw(FLOAT),
                draw(st.integers(-10, 20)),
                draw(COUNT),
                draw(buckets),
                draw(buckets),
                draw(st.integers(0, 2**32 - 1)),
                draw(FLOAT),
                draw(FLOAT),
                draw(_exemplars(attrs)),
            )
            for _ in range(n)
        ]
        data = ExponentialHistogram(exp, temporality)
    return Metric(draw(TEXT), draw(st.none() | TEXT), draw(st.none() | TEXT), data)


def _data(values: st.SearchStrategy[Any]) -> st.SearchStrategy[MetricsData]:
    scope_metrics = st.builds(
        ScopeMetrics, st.sampled_from(SCOPES), st.lists(_metric(values), max_size=3), TEXT
    )
    resource_metrics = st.builds(
        ResourceMetrics, st.sampled_from(RESOURCES), st.lists(scope_metrics, max_size=2), TEXT
    )
    return st.builds(MetricsData, st.lists(resource_metrics, max_size=2))


@given(_data(PLAIN_VALUES))
def test_plain_metrics_are_read_natively_into_the_collectors_table(data: MetricsData) -> None:
    native = convert_sdk_metrics(data)
    assert native is not None  # plain values: nothing for the collector to decide
    same(native, metrics_to_arrow(data))


@given(_data(PLAIN_VALUES | ODD_VALUES))
def test_any_metrics_give_the_collectors_table_whoever_reads_them(data: MetricsData) -> None:
    agree("metrics", data, metrics_to_arrow, convert_sdk_metrics)


def test_the_real_sdks_metrics_match_the_official_encoder_on_the_native_route() -> None:
    data = sdk_data.metrics_data()
    native = convert_sdk_metrics(data)
    assert native is not None and native.batch.num_rows > 0
    assert_same(arrow_to_otlp(native.batch, "metrics"), encode_metrics(data))


def test_an_unknown_metric_type_goes_to_the_collector(caplog: pytest.LogCaptureFixture) -> None:
    class Odd:
        data_points = (1,)

    data = MetricsData(
        [
            ResourceMetrics(
                RESOURCES[0], [ScopeMetrics(SCOPES[1], [Metric("m", "", "", Odd())], "")], ""
            )
        ]
    )
    assert convert_sdk_metrics(data) is None
    with caplog.at_level(logging.WARNING):
        converted = convert_sdk("metrics", data)
    assert converted is not None and converted.batch.num_rows == 0
    assert "unsupported data type Odd" in caplog.text

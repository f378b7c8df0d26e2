"""The viewer's DuckDB questions, asked directly (no server) of stored files."""

from __future__ import annotations

from pathlib import Path

from otlp_arrow import OtlpLibrary, connect
from otlp_arrow.viewer import queries
from tests.helpers import T0
from tests.viewer.data import MINUTE


def test_cumulative_histograms_are_charted_by_interval(tmp_path: Path) -> None:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
    from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = "latency"
    metric.histogram.aggregation_temporality = (
        AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    )
    # all fast in the first minute; 90 slow ones (in (5, 10]) in the second
    for minute, counts in enumerate(([10, 0, 0, 0], [10, 0, 90, 0])):
        point = metric.histogram.data_points.add()
        point.start_time_unix_nano = T0
        point.time_unix_nano = T0 + (minute + 1) * MINUTE
        point.count = sum(counts)
        point.bucket_counts.extend(counts)
        point.explicit_bounds.extend([1.0, 5.0, 10.0])
    with OtlpLibrary(output_dir=tmp_path) as library:
        library.export_metrics(request)
    con = connect(tmp_path).duckdb()
    try:
        chart = queries.metric_series(con, "latency", None, queries.TimeRange())
    finally:
        con.close()
    p50 = next(s for s in chart["series"] if s["label"] == "p50")["points"]
    # the second minute alone: 45th of 90 in (5, 10] -> 7.5 (since the start it would be 7.22)
    assert [round(v, 2) for _, v in p50] == [1.0, 7.5]


def test_the_viewer_and_the_cli_show_stored_values_alike(tmp_path: Path) -> None:
    import json

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import (
        AnyValue,
        ArrayValue,
        KeyValue,
        KeyValueList,
    )

    from otlp_arrow.cli.output import for_display

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\xab" * 16, b"\x01" * 8, "op"
    span.start_time_unix_nano, span.end_time_unix_nano = T0, T0 + 1000
    values = {
        "raw": AnyValue(bytes_value=b"\xde\xad"),
        "list": AnyValue(
            array_value=ArrayValue(values=[AnyValue(bytes_value=b"\x0f"), AnyValue(int_value=3)])
        ),
        "map": AnyValue(
            kvlist_value=KeyValueList(values=[KeyValue(key="k", value=AnyValue(double_value=0.5))])
        ),
        "none": AnyValue(array_value=ArrayValue()),
    }
    for key, value in values.items():
        span.attributes.add(key=key, value=value)
    link = span.links.add()
    link.trace_id, link.span_id = b"\xcd" * 16, b"\x02" * 8
    with OtlpLibrary(output_dir=tmp_path) as library:
        library.export_traces(request)
    store = connect(tmp_path)
    con = store.duckdb()
    try:
        shown = queries.trace(con, b"\xab" * 16)["spans"][0]
    finally:
        con.close()
    expected = {"raw": "dead", "list": ["0f", 3], "map": {"k": 0.5}, "none": []}
    assert shown["attributes"] == expected
    assert (shown["links"][0]["trace_id"], shown["links"][0]["span_id"]) == ("cd" * 16, "02" * 8)
    row = for_display(store.traces()).to_pylist()[0]
    assert json.loads(row["attributes"]) == expected
    assert row["trace_id"] == "ab" * 16 and json.loads(row["links"])[0]["span_id"] == "02" * 8

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

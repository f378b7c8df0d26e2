"""Stored telemetry for the viewer tests: rounds of correlated traces, metrics and logs,
one minute apart."""

from __future__ import annotations

from pathlib import Path

from otlp_arrow import OtlpLibrary
from tests import sample
from tests.helpers import T0

MINUTE = 60 * 10**9


def store_rounds(out: Path, rounds: int, spans: int, points: int, records: int) -> Path:
    with OtlpLibrary(output_dir=out, write_interval="10ms") as library:
        for seed in range(rounds):
            start = T0 + seed * MINUTE
            traces = sample.traces(spans, start_ns=start, seed=seed)
            library.export_traces(traces)
            library.export_metrics(sample.metrics(points, time_ns=start, seed=seed))
            library.export_logs(
                sample.logs(records, start_ns=start, seed=seed, traces_request=traces)
            )
            library.flush()
    return out


def store_odd_metrics(out: Path) -> Path:
    """Metrics users sent that the viewer once answered with a 500, or did not list: a
    histogram point with more bucket counts than bounds + 1, exponential histograms at scale
    -20 (outside OTLP's range) and -10 (bounds beyond a double), a gauge without attributes."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    request = ExportMetricsServiceRequest()
    metrics = request.resource_metrics.add().scope_metrics.add().metrics
    buckets = metrics.add(name="too.many.buckets")
    for minute, counts in enumerate(([1, 2, 1], [0, 0, 0, 5])):  # the second: 4 for 2 bounds
        point = buckets.histogram.data_points.add(time_unix_nano=T0 + minute * MINUTE)
        point.count = sum(counts)
        point.bucket_counts.extend(counts)
        point.explicit_bounds.extend([1.0, 5.0])
        point.attributes.add(key="host").value.string_value = "a"
    for name, scale in (("scale.minus.20", -20), ("scale.minus.10", -10)):
        exponential = metrics.add(name=name)
        wide = exponential.exponential_histogram.data_points.add(time_unix_nano=T0)
        wide.count, wide.scale = 3, scale
        wide.positive.bucket_counts.extend([1, 2])
    bare = metrics.add(name="no.attributes")
    for minute in range(3):
        bare.gauge.data_points.add(time_unix_nano=T0 + minute * MINUTE, as_double=minute)
    with OtlpLibrary(output_dir=out) as library:
        library.export_metrics(request)
    return out

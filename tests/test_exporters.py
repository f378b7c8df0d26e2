"""The SDK exporters with the real SDK processors and readers, on real files. The official
OTLP encoder, run on the very objects each exporter receives, is the oracle."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
from opentelemetry import context
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExportResult,
)

from otlp_arrow import (
    ConfigError,
    OtlpLibrary,
    OtlpLogExporter,
    OtlpMetricExporter,
    OtlpSpanExporter,
    arrow_to_otlp,
    read_table,
)
from tests import sdk_data
from tests.otlp_compare import assert_same


class RecordingSpans(OtlpSpanExporter):
    def __init__(self, library: OtlpLibrary) -> None:
        super().__init__(library)
        self.expected: list[Any] = []

    def export(self, spans: Any) -> SpanExportResult:
        self.expected.extend(spans)
        return super().export(spans)


class RecordingLogs(OtlpLogExporter):
    def __init__(self, library: OtlpLibrary) -> None:
        super().__init__(library)
        self.expected: list[Any] = []

    def export(self, batch: Any) -> LogRecordExportResult:
        self.expected.extend(batch)
        return super().export(batch)


class RecordingMetrics(OtlpMetricExporter):
    def __init__(self, library: OtlpLibrary, **kwargs: Any) -> None:
        super().__init__(library, **kwargs)
        self.expected: list[Any] = []

    def export(
        self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        self.expected.append(encode_metrics(metrics_data))  # before the SDK reuses them
        return super().export(metrics_data, timeout_millis, **kwargs)


def _merged(requests: list[Any]) -> Any:
    merged = type(requests[0])()
    for request in requests:
        merged.MergeFrom(request)
    return merged


def test_spans_through_batch_and_simple_processors(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path) as library:
        batch, simple = RecordingSpans(library), RecordingSpans(library)
        provider = TracerProvider(resource=sdk_data.RESOURCE)
        provider.add_span_processor(BatchSpanProcessor(batch))
        provider.add_span_processor(SimpleSpanProcessor(simple))
        tracer = provider.get_tracer("app", "1.0")
        with tracer.start_as_current_span("parent", attributes=sdk_data.ATTRS) as parent:
            parent.add_event("e", {"k": 1})
            with tracer.start_as_current_span("child"):
                pass
        provider.shutdown()
        library.flush()
        assert len(batch.expected) == len(simple.expected) == 2
    stored = arrow_to_otlp(read_table(tmp_path, "traces"), "traces")
    assert_same(stored, encode_spans(batch.expected + simple.expected))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_logs_through_the_logging_handler_with_trace_context(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path) as library:
        exporter = RecordingLogs(library)
        provider = LoggerProvider(resource=sdk_data.RESOURCE)
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
        logger = logging.getLogger("tests.exporters.logs")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        handler = LoggingHandler(logger_provider=provider)
        logger.addHandler(handler)
        try:
            with TracerProvider().get_tracer("t").start_as_current_span("request"):
                logger.error("payment failed for %s", "ann", extra={"amount": 12.5})
            logger.info("outside any span")
        finally:
            logger.removeHandler(handler)
        provider.shutdown()
        library.flush()
    stored = read_table(tmp_path, "logs")
    assert stored.num_rows == 2
    assert stored.column("trace_id").null_count == 1  # the first record has trace context
    assert_same(arrow_to_otlp(stored, "logs"), encode_logs(exporter.expected))


def _metrics_pipeline(library: OtlpLibrary, **exporter_args: Any) -> tuple[Any, Any]:
    exporter = RecordingMetrics(library, **exporter_args)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=sdk_data.RESOURCE, metric_readers=[reader])
    return exporter, provider


def test_metrics_through_the_periodic_reader_cumulative_by_default(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path) as library:
        exporter, provider = _metrics_pipeline(library)
        meter = provider.get_meter("app")
        counter = meter.create_counter("requests")
        histogram = meter.create_histogram("latency", unit="ms")
        for round_ in range(2):
            counter.add(3, {"route": "/"})
            histogram.record(10.0 * (round_ + 1))
            provider.force_flush()
        provider.shutdown()
        library.flush()
    stored = read_table(tmp_path, "metrics")
    assert_same(arrow_to_otlp(stored, "metrics"), _merged(exporter.expected))
    temporality = set(stored.column("aggregation_temporality").to_pylist())
    assert temporality == {AggregationTemporality.CUMULATIVE.value}
    requests = stored.filter(pc.equal(stored["metric_name"], "requests"))
    values = requests.column("value_int").to_pylist()
    assert values[:2] == [3, 6]  # cumulative


@pytest.mark.parametrize(
    ("temporality", "counter", "histogram"),
    [
        ("delta", AggregationTemporality.DELTA, AggregationTemporality.DELTA),
        ("lowmemory", AggregationTemporality.DELTA, AggregationTemporality.DELTA),
        (
            {Histogram: AggregationTemporality.DELTA},
            AggregationTemporality.CUMULATIVE,
            AggregationTemporality.DELTA,
        ),
    ],
)
def test_temporality_choices(
    tmp_path: Path, temporality: Any, counter: Any, histogram: Any
) -> None:
    with OtlpLibrary(output_dir=tmp_path) as library:
        exporter = library.metric_exporter(temporality=temporality)
        assert exporter._preferred_temporality[Counter] == counter
        assert exporter._preferred_temporality[Histogram] == histogram
    with pytest.raises(ConfigError, match="temporality='sometimes'"):
        OtlpMetricExporter(OtlpLibrary(output_dir=tmp_path), temporality="sometimes")


@pytest.mark.parametrize(
    ("temporality", "message"),
    [
        (5, "temporality=5 is not valid: expected one of cumulative, delta, lowmemory or a "),
        ({Histogram: "delta"}, "temporality[Histogram]='delta': expected an Aggre"),
        ({str: AggregationTemporality.DELTA}, "temporality[str]: not an instrument class of"),
        ({Counter: AggregationTemporality.UNSPECIFIED}, "temporality[Counter]=<Aggreg"),
    ],
    ids=["number", "text-value", "not-an-instrument", "unspecified"],
)
def test_a_temporality_mapping_that_cannot_be_used_is_a_config_error(
    tmp_path: Path, temporality: Any, message: str
) -> None:
    with (
        OtlpLibrary(output_dir=tmp_path) as library,
        pytest.raises(ConfigError, match=re.escape(message)),
    ):
        library.metric_exporter(temporality=temporality)


def test_metrics_temporality_setting_and_preferred_aggregation(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path, metrics_temporality="delta") as library:
        exporter, provider = _metrics_pipeline(
            library, preferred_aggregation={Histogram: ExponentialBucketHistogramAggregation()}
        )
        meter = provider.get_meter("app")
        meter.create_histogram("latency").record(4.0)
        meter.create_counter("c").add(1)
        provider.shutdown()
        library.flush()
    stored = read_table(tmp_path, "metrics")
    kinds = dict(
        zip(
            stored.column("metric_name").to_pylist(),
            stored.column("metric_type").to_pylist(),
            strict=True,
        )
    )
    assert kinds == {"latency": "exponential_histogram", "c": "sum"}
    assert set(stored.column("aggregation_temporality").to_pylist()) == {
        AggregationTemporality.DELTA.value
    }
    assert_same(arrow_to_otlp(stored, "metrics"), _merged(exporter.expected))


def test_exporter_shutdown_leaves_the_library_running(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path) as library:
        spans, logs = library.span_exporter(), library.log_exporter()
        spans.shutdown()
        assert spans.export(sdk_data.spans()) is SpanExportResult.FAILURE
        assert logs.export([]) is LogRecordExportResult.SUCCESS  # the shared library lives
        assert library.export_traces(sdk_data.spans()) > 0
        assert spans.force_flush(5_000) is True


def test_library_shut_down_first_gives_failure_and_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = OtlpLibrary(output_dir=tmp_path)
    exporter = library.span_exporter()
    library.shutdown()
    with caplog.at_level(logging.WARNING, logger="otlp_arrow"):
        for _ in range(5):
            assert exporter.export(sdk_data.spans()) is SpanExportResult.FAILURE
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "ClosedError" in warnings[0] and "shut down" in warnings[0]


def test_full_buffer_is_failure_not_an_exception(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with OtlpLibrary(output_dir=tmp_path, max_buffer_rows=3, write_interval="1h") as library:
        exporter = library.span_exporter()
        with caplog.at_level(logging.WARNING, logger="otlp_arrow"):
            results = [exporter.export(sdk_data.spans()) for _ in range(3)]
        assert results == [SpanExportResult.FAILURE] * 3  # 5 spans never fit in 3 rows
        assert [r.levelno for r in caplog.records].count(logging.WARNING) == 1
        assert "BufferFullError" in caplog.text


def test_exporting_suppresses_instrumentation(tmp_path: Path) -> None:
    seen: list[object] = []

    class Watching(OtlpLibrary):
        def export_traces(self, data: Any) -> int:
            seen.append(context.get_value(context._SUPPRESS_INSTRUMENTATION_KEY))
            return super().export_traces(data)

    with Watching(output_dir=tmp_path) as library:
        assert library.span_exporter().export(sdk_data.spans()) is SpanExportResult.SUCCESS
    assert seen == [True]
    assert context.get_value(context._SUPPRESS_INSTRUMENTATION_KEY) is None


def test_many_threads_two_exporters_one_library(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path, write_interval="20ms") as library:
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(library.span_exporter()))
        provider.add_span_processor(BatchSpanProcessor(library.span_exporter()))
        tracer = provider.get_tracer("threads")

        def work(n: int) -> None:
            for i in range(50):
                with tracer.start_as_current_span(f"t{n}", attributes={"i": i}):
                    pass

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        provider.shutdown()
    spans = read_table(tmp_path, "traces")
    assert spans.num_rows == 2 * 8 * 50  # each span through both processors
    assert len(set(spans.column("span_id").to_pylist())) == 8 * 50


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fidelity_of_every_signal_through_exporters_files_and_back(tmp_path: Path) -> None:
    """Rich SDK data -> our exporters -> files -> read back -> arrow_to_otlp equals what the
    official encoder makes of the same SDK objects."""
    spans, records = sdk_data.spans(), sdk_data.log_records()
    metrics_data = sdk_data.metrics_data()
    expected = {
        "traces": encode_spans(spans),
        "logs": encode_logs(records),
        "metrics": encode_metrics(metrics_data),
    }
    with OtlpLibrary(output_dir=tmp_path) as library:
        assert library.span_exporter().export(spans) is SpanExportResult.SUCCESS
        assert library.log_exporter().export(records) is LogRecordExportResult.SUCCESS
        assert library.metric_exporter().export(metrics_data) is MetricExportResult.SUCCESS
    for signal, request in expected.items():
        assert_same(arrow_to_otlp(read_table(tmp_path, signal), signal), request)

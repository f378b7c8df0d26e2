"""OtlpLibrary with SDK objects: spans, log records, MetricsData, and export_metrics_ref."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics.export import MetricsData

from otlp_arrow import BufferFullError, InputTypeError, OtlpLibrary, arrow_to_otlp, read_table
from tests import sdk_data
from tests.otlp_compare import assert_same


def test_sdk_spans_and_single_span(tmp_path: Path) -> None:
    spans = sdk_data.spans()
    with OtlpLibrary(output_dir=tmp_path) as library:
        assert library.export_traces(spans[1:]) == len(spans) - 1
        assert library.export_trace(spans[0]) == 1
        assert library.export_traces([]) == 0
    assert_same(arrow_to_otlp(read_table(tmp_path, "traces"), "traces"), encode_spans(spans))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sdk_log_records(tmp_path: Path) -> None:
    records = sdk_data.log_records()
    with OtlpLibrary(output_dir=tmp_path) as library:
        assert library.export_logs(records) == len(records)
    assert_same(arrow_to_otlp(read_table(tmp_path, "logs"), "logs"), encode_logs(records))


def test_export_metrics_and_export_metrics_ref_store_the_same_rows(tmp_path: Path) -> None:
    data = sdk_data.metrics_data()
    with OtlpLibrary(output_dir=tmp_path / "copy") as library:
        rows = library.export_metrics(data)
    with OtlpLibrary(output_dir=tmp_path / "ref") as library:
        assert library.export_metrics_ref(data) == rows > 0
    by_value = read_table(tmp_path / "copy", "metrics")
    by_ref = read_table(tmp_path / "ref", "metrics")
    assert by_ref.equals(by_value)
    assert_same(arrow_to_otlp(by_ref, "metrics"), encode_metrics(data))


def test_export_metrics_ref_edge_cases(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path, max_buffer_rows=5, write_interval="1h") as library:
        assert library.export_metrics_ref(MetricsData(resource_metrics=[])) == 0
        with pytest.raises(TypeError, match=r"export_metrics_ref.*MetricsData.*got builtins\.dict"):
            library.export_metrics_ref({"resource_metrics": []})
        with pytest.raises(InputTypeError, match="ExportMetricsServiceRequest"):
            library.export_metrics_ref(encode_metrics(sdk_data.metrics_data()))
        with pytest.raises(BufferFullError):
            library.export_metrics_ref(sdk_data.metrics_data())
        assert library.stats()["buffered_rows"] == 0


def test_export_metrics_ref_keeps_no_reference(tmp_path: Path) -> None:
    data = sdk_data.metrics_data()
    with OtlpLibrary(output_dir=tmp_path, write_interval="1h") as library:
        library.export_metrics_ref(data)
        first = data.resource_metrics[0].scope_metrics[0].metrics[0]
        first.data.data_points[0].attributes["mutated"] = "after export"  # the SDK may reuse it
        object.__setattr__(first, "name", "renamed")
        library.flush()
    names = read_table(tmp_path, "metrics").column("metric_name").to_pylist()
    assert "renamed" not in names and "c" in names


def test_export_metrics_ref_from_many_threads(tmp_path: Path) -> None:
    data = sdk_data.metrics_data()
    errors: list[BaseException] = []
    with OtlpLibrary(output_dir=tmp_path, write_interval="10ms") as library:
        rows = library.export_metrics_ref(data)

        def work() -> None:
            try:
                for _ in range(20):
                    library.export_metrics_ref(data)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not errors
    assert read_table(tmp_path, "metrics").num_rows == rows * (1 + 6 * 20)


def test_wrong_sdk_objects_are_named(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path) as library:
        with pytest.raises(InputTypeError, match=r"export_traces: item 1 .* got builtins\.str"):
            library.export_traces([sdk_data.spans()[0], "not a span"])
        with pytest.raises(InputTypeError, match="export_logs"):
            library.export_logs(sdk_data.spans())
        with pytest.raises(InputTypeError, match="export_trace: expected a ReadableSpan"):
            library.export_trace("span")

"""Invalid input gets a clear error naming the field; nothing is converted half-way."""

from __future__ import annotations

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otlp_arrow import ConversionError, InputTypeError, arrow_to_otlp, otlp_to_arrow
from otlp_arrow.convert import convert_request

GOOD_TRACE = b"t" * 16
GOOD_SPAN = b"s" * 8


def _traces(*spans: Span) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.extend(spans)
    return request


def _span(**fields: object) -> Span:
    values: dict[str, object] = {"trace_id": GOOD_TRACE, "span_id": GOOD_SPAN, "name": "ok"}
    values.update(fields)
    return Span(**values)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"trace_id": b"x" * 8}, "spans[1].trace_id: expected 16 bytes, got 8 bytes"),
        ({"trace_id": b""}, "spans[1].trace_id: expected 16 bytes, got empty"),
        ({"span_id": b"x" * 16}, "spans[1].span_id: expected 8 bytes, got 16 bytes"),
        ({"parent_span_id": b"x" * 3}, "spans[1].parent_span_id: expected 8 bytes, got 3"),
        ({"start_time_unix_nano": 2**64 - 1}, "spans[1].start_time_unix_nano: 1844674407"),
        (
            {"links": [Span.Link(trace_id=GOOD_TRACE, span_id=b"1")]},
            "spans[1].links.span_id: expected 8 bytes, got 1 bytes",
        ),
        (
            {"events": [Span.Event(time_unix_nano=2**63)]},
            "spans[1].events.time_unix_nano: 9223372036854775808 is beyond",
        ),
    ],
)
def test_bad_span_is_named(fields: dict[str, object], message: str) -> None:
    request = _traces(_span(), _span(**fields), _span())
    with pytest.raises(ConversionError) as info:
        otlp_to_arrow(request)
    assert f"resource_spans[0].scope_spans[0].{message}" in str(info.value)
    converted = convert_request(request, strict=False)
    assert converted.rejected == 1
    assert converted.batch.num_rows == 2
    assert converted.error is not None and message in converted.error


def test_partial_conversion_keeps_the_good_rows_intact() -> None:
    request = _traces(_span(name="a"), _span(name="bad", span_id=b""), _span(name="c"))
    converted = convert_request(request, strict=False)
    assert converted.batch.column("name").to_pylist() == ["a", "c"]
    back = arrow_to_otlp(converted.batch, "traces")
    assert [s.name for s in back.resource_spans[0].scope_spans[0].spans] == ["a", "c"]


def test_metric_and_log_errors_name_their_place() -> None:
    metrics = ExportMetricsServiceRequest()
    scope = metrics.resource_metrics.add().scope_metrics.add()
    scope.metrics.add(name="fine").gauge.data_points.add(as_int=1)
    bad = scope.metrics.add(name="bad").sum.data_points
    bad.add(as_int=1)
    bad.add(as_int=2).exemplars.add(trace_id=b"short")
    with pytest.raises(
        ConversionError,
        match=r"metrics\[1\]\.sum\.data_points\[1\]\."
        r"exemplars\.trace_id: expected 16 bytes",
    ):
        otlp_to_arrow(metrics)

    logs = ExportLogsServiceRequest()
    logs.resource_logs.add().scope_logs.add().log_records.add(span_id=b"1234")
    with pytest.raises(ConversionError, match=r"log_records\[0\]\.span_id: expected 8 bytes"):
        otlp_to_arrow(logs)


def test_profiles_string_table_references_are_rejected() -> None:
    value = AnyValue(string_value_strindex=3)
    with pytest.raises(ConversionError, match="string_value_strindex"):
        otlp_to_arrow(_traces(_span(attributes=[KeyValue(key="k", value=value)])))
    with pytest.raises(ConversionError, match="key_strindex"):
        otlp_to_arrow(_traces(_span(attributes=[KeyValue(key_strindex=2)])))


@pytest.mark.parametrize("wrong", [Span(), "text", None, {"resource_spans": []}])
def test_wrong_type_is_named(wrong: object) -> None:
    with pytest.raises(InputTypeError, match=r"got .*(Span|str|NoneType|dict)"):
        otlp_to_arrow(wrong)


def test_arrow_to_otlp_rejects_unknown_signal_and_foreign_tables() -> None:
    table = otlp_to_arrow(_traces(_span()))
    with pytest.raises(ConversionError, match="unknown signal 'spans'"):
        arrow_to_otlp(table, "spans")
    with pytest.raises(ConversionError, match=r"missing column.*metric_name"):
        arrow_to_otlp(table, "metrics")
    retyped = table.set_column(0, "trace_id", pa.array(["not an id"]))
    with pytest.raises(ConversionError, match="does not match the traces schema"):
        arrow_to_otlp(retyped, "traces")


def test_empty_request_gives_an_empty_table() -> None:
    table = otlp_to_arrow(ExportTraceServiceRequest())
    assert table.num_rows == 0
    assert arrow_to_otlp(table, "traces") == ExportTraceServiceRequest()

"""OTLP protobuf export requests -> Arrow record batches (pure functions, no I/O)."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp_arrow.convert._columns import (
    AnyValues,
    Attributes,
    ResourceScope,
    RowErrors,
    fixed_ids,
    list_array,
    timestamps,
)
from otlp_arrow.errors import ConversionError
from otlp_arrow.schema import (
    DICT_STRING,
    EVENT,
    EXEMPLAR,
    LINK,
    LOGS_SCHEMA,
    METRICS_SCHEMA,
    TRACES_SCHEMA,
    Signal,
)


@dataclass(frozen=True)
class Converted:
    """A converted request: the stored rows, and the items that could not be converted."""

    signal: Signal
    batch: pa.RecordBatch
    rejected: int = 0
    error: str | None = None  # the first rejection's message, naming the field


def _finish(
    signal: Signal,
    schema: pa.Schema,
    columns: dict[str, pa.Array],
    errors: RowErrors,
    where: Callable[[int], str],
    strict: bool,
) -> Converted:
    batch = pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)
    if not errors.by_row:
        return Converted(signal, batch)
    first_row = min(errors.by_row)
    message = f"{where(first_row)}.{errors.by_row[first_row]}"
    if strict:
        raise ConversionError(message)
    keep = np.ones(batch.num_rows, dtype=bool)
    keep[list(errors.by_row)] = False
    return Converted(signal, batch.filter(pa.array(keep)), len(errors.by_row), message)


def traces_to_arrow(request: ExportTraceServiceRequest, *, strict: bool = True) -> Converted:
    """Convert an ``ExportTraceServiceRequest``: one row per span."""
    rs_cols = ResourceScope()
    errors = RowErrors()
    trace_id: list[bytes] = []
    span_id: list[bytes] = []
    parent: list[bytes | None] = []
    trace_state: list[str] = []
    flags: list[int] = []
    name: list[str] = []
    kind: list[int] = []
    start: list[int] = []
    end: list[int] = []
    status_code: list[int | None] = []
    status_message: list[str | None] = []
    attrs = Attributes()
    dropped_attrs: list[int] = []
    event_offsets = [0]
    ev_time: list[int] = []
    ev_name: list[str] = []
    ev_attrs = Attributes()
    ev_dropped: list[int] = []
    dropped_events: list[int] = []
    link_offsets = [0]
    link_trace: list[bytes] = []
    link_span: list[bytes] = []
    link_state: list[str] = []
    link_attrs = Attributes()
    link_dropped: list[int] = []
    link_flags: list[int] = []
    link_rows: list[int] = []
    dropped_links: list[int] = []
    row_scope = rs_cols.row_scope
    add_attrs = attrs.add_row
    add_ev_attrs = ev_attrs.add_row
    for scope, spans in rs_cols.scopes(request.resource_spans, "scope_spans", "spans"):
        row_scope.extend([scope] * len(spans))
        for span in spans:
            trace_id.append(span.trace_id)
            span_id.append(span.span_id)
            parent.append(span.parent_span_id or None)
            trace_state.append(span.trace_state)
            flags.append(span.flags)
            name.append(span.name)
            kind.append(span.kind)
            start.append(span.start_time_unix_nano)
            end.append(span.end_time_unix_nano)
            status = span.status
            code = status.code
            message = status.message
            if not code and not message and not span.HasField("status"):
                status_code.append(None)
                status_message.append(None)
            else:
                status_code.append(code)
                status_message.append(message)
            add_attrs(span.attributes)
            dropped_attrs.append(span.dropped_attributes_count)
            events = span.events
            if events:
                for event in events:
                    ev_time.append(event.time_unix_nano)
                    ev_name.append(event.name)
                    add_ev_attrs(event.attributes)
                    ev_dropped.append(event.dropped_attributes_count)
            event_offsets.append(len(ev_name))
            dropped_events.append(span.dropped_events_count)
            links = span.links
            if links:
                span_row = len(name) - 1
                for link in links:
                    link_trace.append(link.trace_id)
                    link_span.append(link.span_id)
                    link_state.append(link.trace_state)
                    link_attrs.add_row(link.attributes)
                    link_dropped.append(link.dropped_attributes_count)
                    link_flags.append(link.flags)
                    link_rows.append(span_row)
            link_offsets.append(len(link_state))
            dropped_links.append(span.dropped_links_count)

    start_ts = timestamps(start, "start_time_unix_nano", errors)
    end_ts = timestamps(end, "end_time_unix_nano", errors)
    events_arr = list_array(
        event_offsets,
        pa.StructArray.from_arrays(
            [
                timestamps(ev_time, "events.time_unix_nano", RowErrors()),
                pa.array(ev_name, DICT_STRING),
                ev_attrs.build(),
                pa.array(ev_dropped, pa.uint32()),
            ],
            fields=list(EVENT),
        ),
        pa.list_(EVENT),
    )
    _check_nested_times(ev_time, event_offsets, "events.time_unix_nano", errors)
    links_arr = list_array(
        link_offsets,
        pa.StructArray.from_arrays(
            [
                fixed_ids(link_trace, 16, "links.trace_id", errors, optional=False, rows=link_rows),
                fixed_ids(link_span, 8, "links.span_id", errors, optional=False, rows=link_rows),
                pa.array(link_state, pa.string()),
                link_attrs.build(),
                pa.array(link_dropped, pa.uint32()),
                pa.array(link_flags, pa.uint32()),
            ],
            fields=list(LINK),
        ),
        pa.list_(LINK),
    )
    columns = {
        "trace_id": fixed_ids(trace_id, 16, "trace_id", errors, optional=False),
        "span_id": fixed_ids(span_id, 8, "span_id", errors, optional=False),
        "parent_span_id": fixed_ids(parent, 8, "parent_span_id", errors, optional=True),  # type: ignore[arg-type]
        "trace_state": pa.array(trace_state, DICT_STRING),
        "flags": pa.array(flags, pa.uint32()),
        "name": pa.array(name, DICT_STRING),
        "kind": pa.array(kind, pa.int32()),
        "start_time": start_ts,
        "end_time": end_ts,
        "duration_ns": pc.subtract(end_ts.cast(pa.int64()), start_ts.cast(pa.int64())),
        "status_code": pa.array(status_code, pa.int32()),
        "status_message": pa.array(status_message, DICT_STRING),
        "attributes": attrs.build(),
        "dropped_attributes_count": pa.array(dropped_attrs, pa.uint32()),
        "events": events_arr,
        "dropped_events_count": pa.array(dropped_events, pa.uint32()),
        "links": links_arr,
        "dropped_links_count": pa.array(dropped_links, pa.uint32()),
    }
    columns.update(rs_cols.columns())
    return _finish(
        "traces",
        TRACES_SCHEMA,
        columns,
        errors,
        lambda r: rs_cols.where(r, "resource_spans", "scope_spans", "spans"),
        strict,
    )


def _check_nested_times(
    values: list[int], offsets: list[int], field: str, errors: RowErrors
) -> None:
    """Report rows whose nested timestamps (events, exemplars) exceed the int64 range."""
    if not values or max(values) <= 2**63 - 1:
        return
    rows = np.searchsorted(np.array(offsets[1:]), np.arange(len(values)), side="right")
    for i, value in enumerate(values):
        if value > 2**63 - 1:
            errors.add(int(rows[i]), f"{field}: {value} is beyond the timestamp range")


class _Exemplars:
    """Collects ``repeated Exemplar`` per data point row."""

    def __init__(self) -> None:
        self.offsets = [0]
        self.attrs = Attributes()
        self.time: list[int] = []
        self.value_double: list[float | None] = []
        self.value_int: list[int | None] = []
        self.span_id: list[bytes] = []
        self.trace_id: list[bytes] = []
        self.rows: list[int] = []
        self.null_rows: list[int] = []

    def add(self, exemplars: Any, row: int) -> None:
        for ex in exemplars:
            self.attrs.add_row(ex.filtered_attributes)
            self.time.append(ex.time_unix_nano)
            which = ex.WhichOneof("value")
            self.value_double.append(ex.as_double if which == "as_double" else None)
            self.value_int.append(ex.as_int if which == "as_int" else None)
            self.span_id.append(ex.span_id)
            self.trace_id.append(ex.trace_id)
            self.rows.append(row)
        self.offsets.append(len(self.time))

    def add_null(self) -> None:
        self.null_rows.append(len(self.offsets) - 1)
        self.offsets.append(len(self.time))

    def build(self, errors: RowErrors) -> pa.Array:
        _check_nested_times(self.time, self.offsets, "exemplars.time_unix_nano", errors)
        values = pa.StructArray.from_arrays(
            [
                self.attrs.build(),
                timestamps(self.time, "exemplars.time_unix_nano", RowErrors()),
                pa.array(self.value_double, pa.float64()),
                pa.array(self.value_int, pa.int64()),
                fixed_ids(
                    self.span_id, 8, "exemplars.span_id", errors, optional=True, rows=self.rows
                ),
                fixed_ids(
                    self.trace_id, 16, "exemplars.trace_id", errors, optional=True, rows=self.rows
                ),
            ],
            fields=list(EXEMPLAR),
        )
        return list_array(self.offsets, values, pa.list_(EXEMPLAR), self.null_rows)


_NUMBER_TYPES = {"gauge", "sum"}
_POINT_ONLY = (
    "value_double",
    "value_int",
    "count",
    "sum",
    "min",
    "max",
    "bucket_counts",
    "explicit_bounds",
    "scale",
    "zero_count",
    "zero_threshold",
    "positive_offset",
    "positive_bucket_counts",
    "negative_offset",
    "negative_bucket_counts",
    "quantile_values",
)


def metrics_to_arrow(request: ExportMetricsServiceRequest, *, strict: bool = True) -> Converted:
    """Convert an ``ExportMetricsServiceRequest``: one row per data point."""
    rs_cols = ResourceScope()
    errors = RowErrors()
    cols: dict[str, list[Any]] = {
        name: []
        for name in (
            "metric_name",
            "metric_description",
            "metric_unit",
            "metric_type",
            "aggregation_temporality",
            "is_monotonic",
            "start_time",
            "time",
            "flags",
            *_POINT_ONLY,
        )
    }
    metadata = Attributes()
    attrs = Attributes()
    exemplars = _Exemplars()
    metric_starts: list[int] = []  # first row of each stored metric, for error locations
    metric_where: list[str] = []
    for scope, scope_metrics in rs_cols.scopes(
        request.resource_metrics, "scope_metrics", "metrics"
    ):
        r_pos, s_pos, _ = rs_cols.location[scope]
        for m_pos, metric in enumerate(scope_metrics):
            kind = metric.WhichOneof("data")
            if kind is None:
                continue  # a metric without data has no data point to keep (docs/schema.md)
            data = getattr(metric, kind)
            points = data.data_points
            n = len(points)
            if not n:
                continue
            metric_starts.append(len(rs_cols.row_scope))
            metric_where.append(
                f"resource_metrics[{r_pos}].scope_metrics[{s_pos}]"
                f".metrics[{m_pos}].{kind}.data_points"
            )
            rs_cols.row_scope.extend([scope] * n)
            cols["metric_name"].extend([metric.name] * n)
            cols["metric_description"].extend([metric.description] * n)
            cols["metric_unit"].extend([metric.unit] * n)
            cols["metric_type"].extend([kind] * n)
            temporality = data.aggregation_temporality if kind not in ("gauge", "summary") else None
            cols["aggregation_temporality"].extend([temporality] * n)
            cols["is_monotonic"].extend([data.is_monotonic if kind == "sum" else None] * n)
            for point in points:
                metadata.add_row(metric.metadata)
                attrs.add_row(point.attributes)
                cols["start_time"].append(point.start_time_unix_nano)
                cols["time"].append(point.time_unix_nano)
                cols["flags"].append(point.flags)
                values = _point_values(kind, point)
                for column in _POINT_ONLY:
                    cols[column].append(values.get(column))
                if kind == "summary":
                    exemplars.add_null()
                else:
                    exemplars.add(point.exemplars, len(cols["time"]) - 1)

    columns: dict[str, pa.Array] = {
        name: pa.array(values, METRICS_SCHEMA.field(name).type)
        for name, values in cols.items()
        if name not in ("start_time", "time")
    }
    columns["start_time"] = timestamps(cols["start_time"], "start_time_unix_nano", errors)
    columns["time"] = timestamps(cols["time"], "time_unix_nano", errors)
    columns["metric_metadata"] = metadata.build()
    columns["attributes"] = attrs.build()
    columns["exemplars"] = exemplars.build(errors)
    columns.update(rs_cols.columns())

    def where(row: int) -> str:
        metric = bisect.bisect_right(metric_starts, row) - 1
        return f"{metric_where[metric]}[{row - metric_starts[metric]}]"

    return _finish("metrics", METRICS_SCHEMA, columns, errors, where, strict)


def _point_values(kind: str, point: Any) -> dict[str, Any]:
    """The type-specific columns of one data point (absent keys are null)."""
    if kind in _NUMBER_TYPES:
        which = point.WhichOneof("value")
        if which == "as_double":
            return {"value_double": point.as_double}
        if which == "as_int":
            return {"value_int": point.as_int}
        return {}
    if kind == "summary":
        return {
            "count": point.count,
            "sum": point.sum,
            "quantile_values": [
                {"quantile": q.quantile, "value": q.value} for q in point.quantile_values
            ],
        }
    values: dict[str, Any] = {
        "count": point.count,
        "sum": point.sum if point.HasField("sum") else None,
        "min": point.min if point.HasField("min") else None,
        "max": point.max if point.HasField("max") else None,
    }
    if kind == "histogram":
        values["bucket_counts"] = list(point.bucket_counts)
        values["explicit_bounds"] = list(point.explicit_bounds)
        return values
    values["scale"] = point.scale
    values["zero_count"] = point.zero_count
    values["zero_threshold"] = point.zero_threshold
    for side in ("positive", "negative"):
        if point.HasField(side):
            buckets = getattr(point, side)
            values[f"{side}_offset"] = buckets.offset
            values[f"{side}_bucket_counts"] = list(buckets.bucket_counts)
    return values


def logs_to_arrow(request: ExportLogsServiceRequest, *, strict: bool = True) -> Converted:
    """Convert an ``ExportLogsServiceRequest``: one row per log record."""
    rs_cols = ResourceScope()
    errors = RowErrors()
    time: list[int] = []
    observed: list[int] = []
    severity_number: list[int] = []
    severity_text: list[str] = []
    body = AnyValues()
    attrs = Attributes()
    dropped: list[int] = []
    flags: list[int] = []
    trace_id: list[bytes] = []
    span_id: list[bytes] = []
    event_name: list[str] = []
    for scope, records in rs_cols.scopes(request.resource_logs, "scope_logs", "log_records"):
        rs_cols.row_scope.extend([scope] * len(records))
        for record in records:
            time.append(record.time_unix_nano)
            observed.append(record.observed_time_unix_nano)
            severity_number.append(record.severity_number)
            severity_text.append(record.severity_text)
            body.add(record.body if record.HasField("body") else None)
            attrs.add_row(record.attributes)
            dropped.append(record.dropped_attributes_count)
            flags.append(record.flags)
            trace_id.append(record.trace_id)
            span_id.append(record.span_id)
            event_name.append(record.event_name)
    columns = {
        "time": timestamps(time, "time_unix_nano", errors),
        "observed_time": timestamps(observed, "observed_time_unix_nano", errors),
        "severity_number": pa.array(severity_number, pa.int32()),
        "severity_text": pa.array(severity_text, DICT_STRING),
        "body": body.build(),
        "attributes": attrs.build(),
        "dropped_attributes_count": pa.array(dropped, pa.uint32()),
        "flags": pa.array(flags, pa.uint32()),
        "trace_id": fixed_ids(trace_id, 16, "trace_id", errors, optional=True),
        "span_id": fixed_ids(span_id, 8, "span_id", errors, optional=True),
        "event_name": pa.array(event_name, DICT_STRING),
    }
    columns.update(rs_cols.columns())
    return _finish(
        "logs",
        LOGS_SCHEMA,
        columns,
        errors,
        lambda r: rs_cols.where(r, "resource_logs", "scope_logs", "log_records"),
        strict,
    )

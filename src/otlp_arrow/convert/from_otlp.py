"""OTLP protobuf export requests -> Arrow record batches (pure functions, no I/O)."""

from __future__ import annotations

import bisect
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp_arrow.convert._columns import (
    AnyValues,
    Attributes,
    Converted,
    ResourceScope,
    RowErrors,
    check_nested_times,
    finish,
    fixed_ids,
    list_array,
    timestamps,
)
from otlp_arrow.convert._spans import SpanColumns
from otlp_arrow.schema import (
    DICT_STRING,
    EXEMPLAR,
    LOGS_SCHEMA,
    METRICS_SCHEMA,
)


def traces_to_arrow(request: ExportTraceServiceRequest, *, strict: bool = True) -> Converted:
    """Convert an ``ExportTraceServiceRequest``: one row per span."""
    c = SpanColumns()
    rs_cols = c.resource_scope
    row_scope = rs_cols.row_scope
    trace_id, span_id, parent = c.trace_id.append, c.span_id.append, c.parent.append
    trace_state, flags, name, kind = (
        c.trace_state.append,
        c.flags.append,
        c.name.append,
        c.kind.append,
    )
    start, end = c.start.append, c.end.append
    status_code, status_message = c.status_code.append, c.status_message.append
    add_attrs, dropped_attrs = c.attrs.add_row, c.dropped_attrs.append
    ev_time, ev_name, ev_dropped = c.ev_time.append, c.ev_name.append, c.ev_dropped.append
    add_ev_attrs = c.ev_attrs.add_row
    event_offsets, dropped_events = c.event_offsets.append, c.dropped_events.append
    link_offsets, dropped_links = c.link_offsets.append, c.dropped_links.append
    for scope, spans in rs_cols.scopes(request.resource_spans, "scope_spans", "spans"):
        row_scope.extend([scope] * len(spans))
        for span in spans:
            trace_id(span.trace_id)
            span_id(span.span_id)
            parent(span.parent_span_id or None)
            trace_state(span.trace_state)
            flags(span.flags)
            name(span.name)
            kind(span.kind)
            start(span.start_time_unix_nano)
            end(span.end_time_unix_nano)
            status = span.status
            code = status.code
            message = status.message
            if not code and not message and not span.HasField("status"):
                status_code(None)
                status_message(None)
            else:
                status_code(code)
                status_message(message)
            add_attrs(span.attributes)
            dropped_attrs(span.dropped_attributes_count)
            events = span.events
            if events:
                for event in events:
                    ev_time(event.time_unix_nano)
                    ev_name(event.name)
                    add_ev_attrs(event.attributes)
                    ev_dropped(event.dropped_attributes_count)
            event_offsets(len(c.ev_name))
            dropped_events(span.dropped_events_count)
            links = span.links
            if links:
                row = len(c.name) - 1
                for link in links:
                    c.add_link(
                        link.trace_id,
                        link.span_id,
                        link.trace_state,
                        link.flags,
                        link.dropped_attributes_count,
                        row,
                    )
                    c.link_attrs.add_row(link.attributes)
            link_offsets(len(c.link_state))
            dropped_links(span.dropped_links_count)
    return c.finish(strict, lambda r: rs_cols.where(r, "resource_spans", "scope_spans", "spans"))


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
        check_nested_times(self.time, self.offsets, "exemplars.time_unix_nano", errors)
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

    return finish("metrics", METRICS_SCHEMA, columns, errors, where, strict)


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
    return finish(
        "logs",
        LOGS_SCHEMA,
        columns,
        errors,
        lambda r: rs_cols.where(r, "resource_logs", "scope_logs", "log_records"),
        strict,
    )

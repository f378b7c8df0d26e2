"""OTLP protobuf export requests -> Arrow record batches (pure functions, no I/O)."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp_arrow.convert._columns import (
    Converted,
)
from otlp_arrow.convert._logs import LogColumns
from otlp_arrow.convert._metrics import MetricColumns
from otlp_arrow.convert._spans import SpanColumns


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


def metrics_to_arrow(request: ExportMetricsServiceRequest, *, strict: bool = True) -> Converted:
    """Convert an ``ExportMetricsServiceRequest``: one row per data point."""
    c = MetricColumns()
    rs_cols = c.resource_scope
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
            if not points:
                continue
            c.add_metric(
                scope,
                metric.name,
                metric.description,
                metric.unit,
                kind,
                data.aggregation_temporality if kind not in ("gauge", "summary") else None,
                data.is_monotonic if kind == "sum" else None,
                len(points),
                f"resource_metrics[{r_pos}].scope_metrics[{s_pos}].metrics[{m_pos}].{kind}"
                ".data_points",
            )
            first = c.rows
            per_point = [_point_values(kind, point) for point in points]
            c.add_points(
                [point.start_time_unix_nano for point in points],
                [point.time_unix_nano for point in points],
                [point.flags for point in points],
                {
                    column: [values.get(column) for values in per_point]
                    for column in set().union(*per_point)
                },
            )
            for i, point in enumerate(points):
                c.metadata.add_row(metric.metadata)
                c.attrs.add_row(point.attributes)
                if kind == "summary":
                    c.exemplars.add_null()
                else:
                    c.exemplars.add(point.exemplars, first + i)
    return c.finish(strict)


def _point_values(kind: str, point: Any) -> dict[str, Any]:
    """The type-specific columns of one data point (absent keys are null)."""
    if kind in ("gauge", "sum"):
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
    c = LogColumns()
    rs_cols = c.resource_scope
    for scope, records in rs_cols.scopes(request.resource_logs, "scope_logs", "log_records"):
        rs_cols.row_scope.extend([scope] * len(records))
        for record in records:
            c.time.append(record.time_unix_nano)
            c.observed.append(record.observed_time_unix_nano)
            c.severity_number.append(record.severity_number)
            c.severity_text.append(record.severity_text)
            c.body.add(record.body if record.HasField("body") else None)
            c.attrs.add_row(record.attributes)
            c.dropped.append(record.dropped_attributes_count)
            c.flags.append(record.flags)
            c.trace_id.append(record.trace_id)
            c.span_id.append(record.span_id)
            c.event_name.append(record.event_name)
    return c.finish(
        strict, lambda r: rs_cols.where(r, "resource_logs", "scope_logs", "log_records")
    )

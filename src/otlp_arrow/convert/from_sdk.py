"""OpenTelemetry SDK objects -> Arrow record batches, directly (no protobuf in between).

The result is exactly what the official OTLP encoder
(``opentelemetry.exporter.otlp.proto.common``) would send for the same objects; the tests
use that encoder as the oracle. The native core reads the SDK objects when it is built
(``convert.native.convert_sdk_spans`` / ``_metrics`` / ``_logs``, the same tables); these
collectors are its specification and its fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import (
    ExponentialHistogram,
    Gauge,
    Histogram,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from otlp_arrow.convert._columns import Converted, ResourceScope
from otlp_arrow.convert._logs import LogColumns
from otlp_arrow.convert._metrics import MetricColumns
from otlp_arrow.convert._spans import SpanColumns
from otlp_arrow.convert.native import convert_sdk_logs, convert_sdk_metrics, convert_sdk_spans
from otlp_arrow.errors import ConversionError, InputTypeError
from otlp_arrow.schema import Signal

log = logging.getLogger(__name__)

_KIND = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
_HAS_IS_REMOTE = 0x100  # SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_IS_REMOTE = 0x200  # SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK


class _Groups:
    """Resource and scope indexes by object identity (hashing an SDK Resource is slow)."""

    def __init__(self, resource_scope: ResourceScope) -> None:
        self.rs = resource_scope
        self.resources: dict[int, int] = {}
        self.scopes: dict[tuple[int, int], int] = {}

    def index(self, resource: Any, scope: Any) -> int:
        key = (id(resource), id(scope))
        group = self.scopes.get(key)
        if group is None:
            res = self.resources.get(id(resource))
            if res is None:
                res = self.resources[id(resource)] = self.rs.add_sdk_resource(resource)
            group = self.scopes[key] = self.rs.add_sdk_scope(scope, res)
        return group


def _flags(context: Any) -> int:
    return (
        _HAS_IS_REMOTE | _IS_REMOTE
        if context is not None and context.is_remote
        else (_HAS_IS_REMOTE)
    )


def _attributes(span: Any) -> Any:
    """A span's attributes. ``ReadableSpan.attributes`` wraps ``_attributes`` in a read-only
    ``MappingProxyType``, which hides the fast path of ``Attributes.add_py_row``; the wrapped
    object is read directly when it is there (same content), else the public property."""
    raw = getattr(span, "_attributes", _MISSING)
    return span.attributes if raw is _MISSING else raw


_MISSING = object()


def _trace_state(context: Any) -> str:
    state = context.trace_state
    return ",".join(f"{k}={v}" for k, v in state.items()) if state else ""


def spans_to_arrow(spans: Sequence[Any]) -> Converted:
    """Convert SDK ``ReadableSpan``s: one row per span."""
    c = SpanColumns()
    group_index = _Groups(c.resource_scope).index
    row_scope = c.resource_scope.row_scope.append
    trace_id, span_id, parent_id = c.trace_id.append, c.span_id.append, c.parent.append
    trace_state, flags, name, kind = (
        c.trace_state.append,
        c.flags.append,
        c.name.append,
        c.kind.append,
    )
    start, end = c.start.append, c.end.append
    status_code, status_message = c.status_code.append, c.status_message.append
    add_attrs, dropped_attrs = c.attrs.add_py_row, c.dropped_attrs.append
    ev_time, ev_name, ev_dropped = c.ev_time.append, c.ev_name.append, c.ev_dropped.append
    add_ev_attrs = c.ev_attrs.add_py_row
    event_offsets, dropped_events = c.event_offsets.append, c.dropped_events.append
    link_offsets, dropped_links = c.link_offsets.append, c.dropped_links.append
    for row, span in enumerate(spans):
        row_scope(group_index(span.resource, span.instrumentation_scope))
        context = span.context
        trace_id(context.trace_id.to_bytes(16, "big"))
        span_id(context.span_id.to_bytes(8, "big"))
        parent = span.parent
        if parent is None:
            parent_id(None)
            flags(_HAS_IS_REMOTE)
        else:
            parent_id(parent.span_id.to_bytes(8, "big"))
            flags(_HAS_IS_REMOTE | _IS_REMOTE if parent.is_remote else _HAS_IS_REMOTE)
        trace_state(_trace_state(context))
        name(span.name)
        kind(_KIND[span.kind])
        start(span.start_time or 0)
        end(span.end_time or 0)
        status = span.status
        status_code(status.status_code.value)
        status_message(status.description or "")
        add_attrs(_attributes(span))
        dropped_attrs(span.dropped_attributes)
        events = span.events
        if events:
            for event in events:
                ev_time(event.timestamp or 0)
                ev_name(event.name)
                add_ev_attrs(event.attributes)
                ev_dropped(event.dropped_attributes)
        event_offsets(len(c.ev_name))
        dropped_events(span.dropped_events)
        links = span.links
        if links:
            for link in links:
                linked = link.context
                c.add_link(
                    linked.trace_id.to_bytes(16, "big"),
                    linked.span_id.to_bytes(8, "big"),
                    "",
                    _flags(linked),
                    link.dropped_attributes,
                    row,
                )
                c.link_attrs.add_py_row(link.attributes)
        link_offsets(len(c.link_state))
        dropped_links(span.dropped_links)
    return c.finish(True, lambda row: f"spans[{row}]")


def logs_to_arrow(records: Sequence[Any]) -> Converted:
    """Convert SDK ``ReadableLogRecord``s: one row per log record."""
    c = LogColumns()
    group_index = _Groups(c.resource_scope).index
    row_scope = c.resource_scope.row_scope.append
    for row, readable in enumerate(records):
        row_scope(group_index(readable.resource, readable.instrumentation_scope))
        record = readable.log_record
        c.time.append(record.timestamp or 0)
        c.observed.append(record.observed_timestamp or 0)
        c.severity_number.append(getattr(record.severity_number, "value", None) or 0)
        c.severity_text.append(record.severity_text or "")
        try:
            c.body.add_py(record.body)
        except ConversionError as exc:
            raise ConversionError(f"log_records[{row}].body: {exc}") from exc
        c.attrs.add_py_row(record.attributes)
        c.dropped.append(readable.dropped_attributes)
        c.flags.append(int(record.trace_flags or 0))
        c.trace_id.append(record.trace_id.to_bytes(16, "big") if record.trace_id else b"")
        c.span_id.append(record.span_id.to_bytes(8, "big") if record.span_id else b"")
        c.event_name.append(record.event_name or "")
    return c.finish(True, lambda row: f"log_records[{row}]")


_METRIC_KIND = {
    Gauge: "gauge",
    Sum: "sum",
    Histogram: "histogram",
    ExponentialHistogram: "exponential_histogram",
}


def metrics_to_arrow(data: Any) -> Converted:
    """Convert SDK ``MetricsData``: one row per data point. Nothing of the SDK objects is
    kept (the SDK may reuse them as soon as this returns)."""
    c = MetricColumns()
    rs = c.resource_scope
    resources: dict[int, int] = {}
    for r_pos, resource_metrics in enumerate(data.resource_metrics):
        resource = resource_metrics.resource
        res = resources.get(id(resource))
        if res is None:
            res = resources[id(resource)] = rs.add_sdk_resource(resource)
        for s_pos, scope_metrics in enumerate(resource_metrics.scope_metrics):
            scope = rs.add_sdk_scope(scope_metrics.scope, res)
            for m_pos, metric in enumerate(scope_metrics.metrics):
                _add_sdk_metric(
                    c,
                    scope,
                    metric,
                    f"resource_metrics[{r_pos}].scope_metrics[{s_pos}].metrics[{m_pos}]",
                )
    return c.finish(True)


def _add_sdk_metric(c: MetricColumns, scope: int, metric: Any, where: str) -> None:
    sdk_data = metric.data
    kind = _METRIC_KIND.get(type(sdk_data))
    if kind is None:
        log.warning(
            "metric %r left out: unsupported data type %s", metric.name, type(sdk_data).__name__
        )
        return
    points = sdk_data.data_points
    if not points:
        return
    temporality = None if kind == "gauge" else int(sdk_data.aggregation_temporality)
    c.add_metric(
        scope,
        metric.name,
        metric.description or "",
        metric.unit or "",
        kind,
        temporality,
        bool(sdk_data.is_monotonic) if kind == "sum" else None,
        len(points),
        f"{where}.{kind}.data_points",
    )
    n = len(points)
    first = c.rows
    start = [0] * n if kind == "gauge" else [p.start_time_unix_nano for p in points]
    time = [p.time_unix_nano for p in points]
    flags = [p.flags for p in points] if kind == "exponential_histogram" else [0] * n
    c.add_points(start, time, flags, _sdk_point_columns(kind, points))
    c.metadata.add_empty_rows(n)
    add_attrs, add_exemplars = c.attrs.add_py_row, c.exemplars.add_sdk
    for i, point in enumerate(points):
        add_attrs(point.attributes)
        add_exemplars(point.exemplars, first + i)


def _sdk_point_columns(kind: str, points: Sequence[Any]) -> dict[str, list[Any]]:
    """The type-specific columns of an SDK metric's points, as the official encoder writes
    them (gauges without start time, histograms without flags, no zero threshold)."""
    if kind in ("gauge", "sum"):
        values = [p.value for p in points]
        return {
            "value_int": [int(v) if isinstance(v, int) else None for v in values],
            "value_double": [None if isinstance(v, int) else float(v) for v in values],
        }
    columns: dict[str, list[Any]] = {
        "count": [p.count for p in points],
        "sum": [float(p.sum) for p in points],
        "min": [float(p.min) for p in points],
        "max": [float(p.max) for p in points],
    }
    if kind == "histogram":
        columns["bucket_counts"] = [list(p.bucket_counts) for p in points]
        columns["explicit_bounds"] = [[float(b) for b in p.explicit_bounds] for p in points]
        return columns
    columns["scale"] = [p.scale for p in points]
    columns["zero_count"] = [p.zero_count for p in points]
    columns["zero_threshold"] = [0.0] * len(points)  # not written by the official encoder
    for side in ("positive", "negative"):
        buckets = [getattr(p, side) for p in points]
        columns[f"{side}_offset"] = [b.offset if b.bucket_counts else None for b in buckets]
        columns[f"{side}_bucket_counts"] = [
            list(b.bucket_counts) if b.bucket_counts else None for b in buckets
        ]
    return columns


def convert_sdk(signal: Signal, data: Any) -> Converted | None:
    """Convert SDK objects given to ``export_<signal>``: ReadableSpan(s), ReadableLogRecord(s)
    or MetricsData. None when ``data`` is not SDK objects (the caller tries other inputs);
    InputTypeError naming the first item of a list that is not of the signal's SDK type."""
    if signal == "metrics":
        if not isinstance(data, MetricsData):
            return None
        return convert_sdk_metrics(data) or metrics_to_arrow(data)  # the same table
    item_type: type
    convert: Callable[[Sequence[Any]], Converted]
    if signal == "traces":
        item_type, convert = ReadableSpan, spans_to_arrow
    else:
        item_type, convert = ReadableLogRecord, logs_to_arrow
    if isinstance(data, item_type):
        data = [data]
    elif not isinstance(data, list | tuple):
        return None
    for i, item in enumerate(data):
        if not isinstance(item, item_type):
            raise InputTypeError(
                f"item {i} of the sequence: expected a {item_type.__name__}, got "
                f"{type(item).__module__}.{type(item).__qualname__}"
            )
    native = (convert_sdk_spans if signal == "traces" else convert_sdk_logs)(list(data))
    return native or convert(data)  # the same table, read by the native core if it can

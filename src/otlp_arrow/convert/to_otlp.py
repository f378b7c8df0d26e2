"""Arrow tables -> OTLP protobuf export requests (the inverse of ``from_otlp``, pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, EntityRef, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import ExponentialHistogramDataPoint
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otlp_arrow.convert.anyvalue_json import NESTED, json_text_value
from otlp_arrow.schema import ATTRIBUTES, METRIC_COLUMNS, Signal, conform, map_timestamps

Row = dict[str, Any]


def columns_as_lists(data: pa.Table | pa.RecordBatch, signal: Signal) -> dict[str, list[Any]]:
    """The signal's columns of ``data`` as Python lists, times as int nanoseconds (which,
    unlike datetimes, keep every nanosecond through ``to_pylist``)."""
    table = conform(data, signal)
    target = pa.schema([f.with_type(map_timestamps(f.type, pa.int64())) for f in table.schema])
    table = table.cast(target)
    return {name: _as_list(table.column(name)) for name in table.schema.names}


def _as_list(column: pa.ChunkedArray) -> list[Any]:
    """``column.to_pylist()``, converting each dictionary once instead of once per row (rows
    of one resource then share one object, which also makes grouping them cheap), and
    attribute maps without building a dict of every AnyValue field per value."""
    if column.type == ATTRIBUTES:
        return [row for chunk in column.chunks for row in _attribute_rows(chunk)]
    if not pa.types.is_dictionary(column.type):
        return column.to_pylist()  # type: ignore[no-any-return]
    out: list[Any] = []
    for chunk in column.chunks:
        values = chunk.dictionary.to_pylist()
        out.extend(None if i is None else values[i] for i in chunk.indices.to_pylist())
    return out


def _attribute_rows(chunk: pa.MapArray) -> list[list[tuple[str, dict[str, Any] | None]] | None]:
    """The rows of an attribute map chunk as ``to_pylist`` would give them, except that each
    value is ``{kind: item}`` for its one set field (``{}`` for an empty AnyValue, None for a
    KeyValue without value): column by column, about twice as fast."""
    offsets = np.asarray(chunk.offsets)  # into the whole child, also for a sliced chunk
    first, count = int(offsets[0]), int(offsets[-1] - offsets[0])
    keys = chunk.keys.slice(first, count)
    if pa.types.is_dictionary(keys.type):
        names = keys.dictionary.to_pylist()
        key_list = [names[i] for i in keys.indices.to_pylist()]
    else:
        key_list = keys.to_pylist()
    items = chunk.items.slice(first, count)
    kinds = [f.name for f in items.type]
    fields = items.flatten()
    masks = np.stack([np.asarray(f.is_valid()) for f in fields]) if fields else None
    values: list[dict[str, Any] | None] = []
    if masks is not None and len(items):
        kind = np.where(masks.any(axis=0), masks.argmax(axis=0), -1).tolist()
        lists = [f.to_pylist() if masks[i].any() else [] for i, f in enumerate(fields)]
        present = np.asarray(items.is_valid()).tolist()
        for j, k in enumerate(kind):
            values.append(None if not present[j] else {} if k < 0 else {kinds[k]: lists[k][j]})
    pairs = list(zip(key_list, values, strict=True))
    bounds = (offsets - first).tolist()
    valid = np.asarray(chunk.is_valid()).tolist() if chunk.null_count else None
    return [
        pairs[bounds[r] : bounds[r + 1]] if valid is None or valid[r] else None
        for r in range(len(chunk))
    ]


def _any_value(value: dict[str, Any]) -> AnyValue:
    for name, item in value.items():
        if item is None:
            continue
        if name in NESTED:
            return json_text_value(name, item)
        return AnyValue(**{name: item})
    return AnyValue()


def _kvs(items: list[tuple[str, dict[str, Any] | None]] | None) -> list[KeyValue]:
    if not items:
        return []
    return [
        KeyValue(key=key) if value is None else KeyValue(key=key, value=_any_value(value))
        for key, value in items
    ]


_RESOURCE = (
    "resource_attributes",
    "resource_dropped_attributes_count",
    "resource_entity_refs",
    "resource_schema_url",
)
_SCOPE = (
    "scope_name",
    "scope_version",
    "scope_attributes",
    "scope_dropped_attributes_count",
    "scope_schema_url",
)


def _scope_holders(
    cols: dict[str, list[Any]], add_resource: Callable[[], Message], scopes_field: str
) -> list[Message]:
    """For each row, the ScopeX message it belongs in, grouping equal resources and scopes."""
    res_cols = [cols[name] for name in _RESOURCE]
    scope_cols = [cols[name] for name in _SCOPE]
    resources: list[tuple[tuple[Any, ...], Message, list[tuple[tuple[Any, ...], Message]]]] = []
    holders: list[Message] = []
    prev_r: tuple[Any, ...] | None = None
    prev_s: tuple[Any, ...] | None = None
    current: Message | None = None
    for rkey, skey in zip(zip(*res_cols, strict=True), zip(*scope_cols, strict=True), strict=True):
        if rkey != prev_r or skey != prev_s or current is None:
            scopes = next((s for key, _, s in resources if key == rkey), None)
            if scopes is None:
                holder = add_resource()
                _set_resource(holder, rkey)
                scopes = []
                resources.append((rkey, holder, scopes))
            else:
                holder = next(h for key, h, _ in resources if key == rkey)
            current = next((m for key, m in scopes if key == skey), None)
            if current is None:
                current = getattr(holder, scopes_field).add()
                _set_scope(current, skey)
                scopes.append((skey, current))
            prev_r, prev_s = rkey, skey
        holders.append(current)
    return holders


def _set_resource(holder: Any, key: tuple[Any, ...]) -> None:
    attributes, dropped, entities, schema_url = key
    holder.schema_url = schema_url
    if attributes is None:
        return
    resource = holder.resource
    resource.SetInParent()
    resource.attributes.extend(_kvs(attributes))
    resource.dropped_attributes_count = dropped or 0
    resource.entity_refs.extend(EntityRef(**e) for e in entities or ())


def _set_scope(holder: Any, key: tuple[Any, ...]) -> None:
    name, version, attributes, dropped, schema_url = key
    holder.schema_url = schema_url
    if attributes is None:
        return
    scope = holder.scope
    scope.SetInParent()
    scope.name = name or ""
    scope.version = version or ""
    scope.attributes.extend(_kvs(attributes))
    scope.dropped_attributes_count = dropped or 0


def _rows(cols: dict[str, list[Any]], names: tuple[str, ...]) -> Any:
    return zip(*(cols[name] for name in names), strict=True)


_SPAN = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "trace_state",
    "flags",
    "name",
    "kind",
    "start_time",
    "end_time",
    "status_code",
    "status_message",
    "attributes",
    "dropped_attributes_count",
    "events",
    "dropped_events_count",
    "links",
    "dropped_links_count",
)


def traces_to_otlp(data: pa.Table | pa.RecordBatch) -> ExportTraceServiceRequest:
    cols = columns_as_lists(data, "traces")
    request = ExportTraceServiceRequest()
    holders = _scope_holders(cols, request.resource_spans.add, "scope_spans")
    for holder, (
        trace_id,
        span_id,
        parent,
        trace_state,
        flags,
        name,
        kind,
        start,
        end,
        code,
        message,
        attributes,
        dropped_attrs,
        events,
        dropped_events,
        links,
        dropped_links,
    ) in zip(holders, _rows(cols, _SPAN), strict=True):
        holder.spans.add(  # type: ignore[attr-defined]
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent or b"",
            trace_state=trace_state,
            flags=flags,
            name=name,
            kind=kind,
            start_time_unix_nano=start or 0,
            end_time_unix_nano=end or 0,
            attributes=_kvs(attributes),
            dropped_attributes_count=dropped_attrs,
            events=[
                Span.Event(
                    time_unix_nano=e["time"] or 0,
                    name=e["name"],
                    attributes=_kvs(e["attributes"]),
                    dropped_attributes_count=e["dropped_attributes_count"],
                )
                for e in events
            ],
            dropped_events_count=dropped_events,
            links=[
                Span.Link(
                    trace_id=lk["trace_id"],
                    span_id=lk["span_id"],
                    trace_state=lk["trace_state"],
                    attributes=_kvs(lk["attributes"]),
                    dropped_attributes_count=lk["dropped_attributes_count"],
                    flags=lk["flags"],
                )
                for lk in links
            ],
            dropped_links_count=dropped_links,
            status=None if code is None else Status(code=code, message=message),
        )
    return request


_METRIC = (*METRIC_COLUMNS, "metric_metadata")


def _exemplars(exemplars: list[Row] | None) -> list[dict[str, Any]]:
    return [
        {
            "filtered_attributes": _kvs(ex["filtered_attributes"]),
            "time_unix_nano": ex["time"] or 0,
            "as_double": ex["value_double"],
            "as_int": ex["value_int"],
            "span_id": ex["span_id"] or b"",
            "trace_id": ex["trace_id"] or b"",
        }
        for ex in exemplars or ()
    ]


def _point(kind: str, row: Row) -> dict[str, Any]:
    point: dict[str, Any] = {
        "attributes": _kvs(row["attributes"]),
        "start_time_unix_nano": row["start_time"] or 0,
        "time_unix_nano": row["time"] or 0,
        "flags": row["flags"],
    }
    if kind == "summary":
        point.update(count=row["count"], sum=row["sum"], quantile_values=row["quantile_values"])
        return point
    point["exemplars"] = _exemplars(row["exemplars"])
    if kind in ("gauge", "sum"):
        point.update(as_double=row["value_double"], as_int=row["value_int"])
        return point
    point.update(count=row["count"], sum=row["sum"], min=row["min"], max=row["max"])
    if kind == "histogram":
        point.update(bucket_counts=row["bucket_counts"], explicit_bounds=row["explicit_bounds"])
        return point
    buckets = ExponentialHistogramDataPoint.Buckets
    point.update(
        scale=row["scale"], zero_count=row["zero_count"], zero_threshold=row["zero_threshold"]
    )
    for side in ("positive", "negative"):
        if row[f"{side}_offset"] is not None:
            point[side] = buckets(
                offset=row[f"{side}_offset"], bucket_counts=row[f"{side}_bucket_counts"]
            )
    return point


def metrics_to_otlp(data: pa.Table | pa.RecordBatch) -> ExportMetricsServiceRequest:
    cols = columns_as_lists(data, "metrics")
    request = ExportMetricsServiceRequest()
    holders = _scope_holders(cols, request.resource_metrics.add, "scope_metrics")
    names = list(cols)
    prev_holder: Message | None = None
    prev_key: tuple[Any, ...] | None = None
    points: Any = None
    for holder, key, values in zip(
        holders, _rows(cols, _METRIC), _rows(cols, tuple(names)), strict=True
    ):
        kind = key[3]
        if holder is not prev_holder or key != prev_key:
            name, description, unit, _, temporality, monotonic, metadata = key
            metric = holder.metrics.add(  # type: ignore[attr-defined]
                name=name, description=description, unit=unit, metadata=_kvs(metadata)
            )
            data_msg = getattr(metric, kind)
            data_msg.SetInParent()
            if temporality is not None:
                data_msg.aggregation_temporality = temporality
            if kind == "sum":
                data_msg.is_monotonic = bool(monotonic)
            points = data_msg.data_points
            prev_holder, prev_key = holder, key
        points.add(**_point(kind, dict(zip(names, values, strict=True))))
    return request


_LOG = (
    "time",
    "observed_time",
    "severity_number",
    "severity_text",
    "body",
    "attributes",
    "dropped_attributes_count",
    "flags",
    "trace_id",
    "span_id",
    "event_name",
)


def logs_to_otlp(data: pa.Table | pa.RecordBatch) -> ExportLogsServiceRequest:
    cols = columns_as_lists(data, "logs")
    request = ExportLogsServiceRequest()
    holders = _scope_holders(cols, request.resource_logs.add, "scope_logs")
    for holder, (
        time,
        observed,
        severity_number,
        severity_text,
        body,
        attributes,
        dropped,
        flags,
        trace_id,
        span_id,
        event_name,
    ) in zip(holders, _rows(cols, _LOG), strict=True):
        holder.log_records.add(  # type: ignore[attr-defined]
            time_unix_nano=time or 0,
            observed_time_unix_nano=observed or 0,
            severity_number=severity_number,
            severity_text=severity_text,
            body=None if body is None else _any_value(body),
            attributes=_kvs(attributes),
            dropped_attributes_count=dropped,
            flags=flags,
            trace_id=trace_id or b"",
            span_id=span_id or b"",
            event_name=event_name,
        )
    return request

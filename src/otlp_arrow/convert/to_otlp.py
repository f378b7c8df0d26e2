"""Arrow tables -> OTLP protobuf export requests (the inverse of ``from_otlp``, pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import EntityRef
from opentelemetry.proto.metrics.v1.metrics_pb2 import ExponentialHistogramDataPoint
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otlp_arrow.convert._pylists import columns_as_lists, kvs
from otlp_arrow.convert.anyvalue_json import stored_value
from otlp_arrow.schema import (
    LOG_RECORD_COLUMNS,
    METRIC_COLUMNS,
    RESOURCE_COLUMNS,
    SCOPE_COLUMNS,
    SPAN_COLUMNS,
)

Row = dict[str, Any]


def _scope_holders(
    cols: dict[str, list[Any]], add_resource: Callable[[], Message], scopes_field: str
) -> list[Message]:
    """For each row, the ScopeX message it belongs in, grouping equal resources and scopes."""
    res_cols = [cols[name] for name in RESOURCE_COLUMNS]
    scope_cols = [cols[name] for name in SCOPE_COLUMNS]
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
    resource.attributes.extend(kvs(attributes))
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
    scope.attributes.extend(kvs(attributes))
    scope.dropped_attributes_count = dropped or 0


def _rows(cols: dict[str, list[Any]], names: tuple[str, ...]) -> Any:
    return zip(*(cols[name] for name in names), strict=True)


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
    ) in zip(holders, _rows(cols, SPAN_COLUMNS), strict=True):
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
            attributes=kvs(attributes),
            dropped_attributes_count=dropped_attrs,
            events=[
                Span.Event(
                    time_unix_nano=e["time"] or 0,
                    name=e["name"],
                    attributes=kvs(e["attributes"]),
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
                    attributes=kvs(lk["attributes"]),
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
            "filtered_attributes": kvs(ex["filtered_attributes"]),
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
        "attributes": kvs(row["attributes"]),
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
                name=name, description=description, unit=unit, metadata=kvs(metadata)
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
    ) in zip(holders, _rows(cols, LOG_RECORD_COLUMNS), strict=True):
        holder.log_records.add(  # type: ignore[attr-defined]
            time_unix_nano=time or 0,
            observed_time_unix_nano=observed or 0,
            severity_number=severity_number,
            severity_text=severity_text,
            body=None if body is None else stored_value(body),
            attributes=kvs(attributes),
            dropped_attributes_count=dropped,
            flags=flags,
            trace_id=trace_id or b"",
            span_id=span_id or b"",
            event_name=event_name,
        )
    return request

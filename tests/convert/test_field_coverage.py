"""Every field of every OTLP message is mapped to a column (or explicitly rejected)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from google.protobuf.descriptor import Descriptor
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp_arrow.convert.fields import OTLP_FIELDS, REJECTED, STRUCTURE
from otlp_arrow.schema import SCHEMAS

PREFIX = "opentelemetry.proto."


def _fields(descriptor: Descriptor, seen: set[str]) -> Iterator[str]:
    if descriptor.full_name in seen:
        return
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        yield f"{descriptor.full_name.removeprefix(PREFIX)}.{field.name}"
        if field.message_type is not None:
            yield from _fields(field.message_type, seen)


def _proto_fields() -> set[str]:
    seen: set[str] = set()
    return {
        name
        for request in (
            ExportTraceServiceRequest,
            ExportMetricsServiceRequest,
            ExportLogsServiceRequest,
        )
        for name in _fields(request.DESCRIPTOR, seen)
    }


def test_every_proto_field_is_mapped() -> None:
    fields = _proto_fields()
    assert len(fields) > 100  # the walk really went through the messages
    unmapped = sorted(fields - OTLP_FIELDS.keys())
    assert not unmapped, f"OTLP fields with no column (add them to convert/fields.py): {unmapped}"
    stale = sorted(OTLP_FIELDS.keys() - fields)
    assert not stale, f"mapped fields that the proto no longer has: {stale}"


def _has_path(schema: pa.Schema, path: str) -> bool:
    head, *rest = path.split(".")
    if head not in schema.names:
        return False
    type_ = schema.field(head).type
    for part in rest:
        while pa.types.is_list(type_):
            type_ = type_.value_type
        if pa.types.is_map(type_):
            if part == "key":
                type_ = type_.key_type
                continue
            if part == "value":
                type_ = type_.item_type
                continue
            return False
        if not pa.types.is_struct(type_) or type_.get_field_index(part) < 0:
            return False
        type_ = type_.field(part).type
    return True


def test_every_mapped_column_exists() -> None:
    for field, column in OTLP_FIELDS.items():
        if column in (STRUCTURE, REJECTED):
            continue
        signal = {"trace": "traces", "metrics": "metrics", "logs": "logs"}.get(field.split(".")[0])
        schemas = [SCHEMAS[signal]] if signal else list(SCHEMAS.values())
        assert any(_has_path(s, column) for s in schemas), f"{field} -> {column}: no such column"

"""What `otlp-arrow query --format json|csv|table` prints for stored values: JSON lines hold
nested values as JSON (not as strings of JSON), empty maps as objects, and every time, top
level or nested, in the same ISO 8601 form."""

from __future__ import annotations

import io
import json

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp_arrow import otlp_to_arrow
from otlp_arrow.cli.output import for_display, write

T0 = 1_700_000_000_123_456_789


def _table() -> pa.Table:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\xab" * 16, b"\x01" * 8, "op"
    span.start_time_unix_nano, span.end_time_unix_nano = T0, T0 + 1000
    span.attributes.add(key="k", value={"int_value": 7})
    event = span.events.add(name="e", time_unix_nano=T0 + 5)
    event.attributes.add(key="b", value={"bytes_value": b"\x0f"})
    span.events.add(name="bare", time_unix_nano=T0)  # no attributes: an empty map, not []
    return otlp_to_arrow(request)


def _json_row() -> dict[str, object]:
    text, binary = io.StringIO(), io.BytesIO()
    write(_table(), "json", text, binary)
    (line,) = text.getvalue().splitlines()
    row: dict[str, object] = json.loads(line)
    return row


def test_json_lines_hold_nested_values_as_json() -> None:
    row = _json_row()
    assert row["attributes"] == {"k": 7}
    assert row["resource_attributes"] is None  # no resource: null, not empty
    assert row["events"] == [
        {
            "time": "2023-11-14T22:13:20.123456794Z",
            "name": "e",
            "attributes": {"b": "0f"},
            "dropped_attributes_count": 0,
        },
        {
            "time": "2023-11-14T22:13:20.123456789Z",
            "name": "bare",
            "attributes": {},
            "dropped_attributes_count": 0,
        },
    ]
    assert row["links"] == []


def test_nested_times_read_like_top_level_times() -> None:
    row = _json_row()
    assert row["start_time"] == "2023-11-14T22:13:20.123456789Z"
    shown = for_display(_table()).to_pylist()[0]
    assert shown["start_time"] == row["start_time"]
    assert json.loads(shown["events"])[1]["time"] == row["start_time"]  # CSV and table: text
    assert json.loads(shown["events"])[1]["attributes"] == {}  # an empty map is an object
    assert shown["resource_attributes"] is None

"""The traces columns, filled span by span by a front end (OTLP protobuf or SDK objects)."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from otlp_arrow.convert._columns import (
    Converted,
    ResourceScope,
    RowErrors,
    check_nested_times,
    finish,
    fixed_ids,
    list_array,
    timestamps,
)
from otlp_arrow.convert._values import Attributes
from otlp_arrow.schema import DICT_STRING, EVENT, LINK, TRACES_SCHEMA


class SpanColumns:
    """Plain lists, one per column (events and links flattened with offsets)."""

    def __init__(self) -> None:
        self.resource_scope = ResourceScope()
        self.errors = RowErrors()
        self.trace_id: list[bytes] = []
        self.span_id: list[bytes] = []
        self.parent: list[bytes | None] = []
        self.trace_state: list[str] = []
        self.flags: list[int] = []
        self.name: list[str] = []
        self.kind: list[int] = []
        self.start: list[int] = []
        self.end: list[int] = []
        self.status_code: list[int | None] = []
        self.status_message: list[str | None] = []
        self.attrs = Attributes()
        self.dropped_attrs: list[int] = []
        self.event_offsets = [0]
        self.ev_time: list[int] = []
        self.ev_name: list[str] = []
        self.ev_attrs = Attributes()
        self.ev_dropped: list[int] = []
        self.dropped_events: list[int] = []
        self.link_offsets = [0]
        self.link_trace: list[bytes] = []
        self.link_span: list[bytes] = []
        self.link_state: list[str] = []
        self.link_attrs = Attributes()
        self.link_dropped: list[int] = []
        self.link_flags: list[int] = []
        self.link_rows: list[int] = []
        self.dropped_links: list[int] = []

    def add_link(
        self, trace_id: bytes, span_id: bytes, trace_state: str, flags: int, dropped: int, row: int
    ) -> None:
        """One link of span ``row`` (its attributes go to ``link_attrs`` separately)."""
        self.link_trace.append(trace_id)
        self.link_span.append(span_id)
        self.link_state.append(trace_state)
        self.link_flags.append(flags)
        self.link_dropped.append(dropped)
        self.link_rows.append(row)

    def finish(self, strict: bool, where: Callable[[int], str]) -> Converted:
        errors = self.errors
        start_ts = timestamps(self.start, "start_time_unix_nano", errors)
        end_ts = timestamps(self.end, "end_time_unix_nano", errors)
        check_nested_times(self.ev_time, self.event_offsets, "events.time_unix_nano", errors)
        events = pa.StructArray.from_arrays(
            [
                timestamps(self.ev_time, "events.time_unix_nano", RowErrors()),
                pa.array(self.ev_name, DICT_STRING),
                self.ev_attrs.build(),
                pa.array(self.ev_dropped, pa.uint32()),
            ],
            fields=list(EVENT),
        )
        rows = self.link_rows
        links = pa.StructArray.from_arrays(
            [
                fixed_ids(self.link_trace, 16, "links.trace_id", errors, optional=False, rows=rows),
                fixed_ids(self.link_span, 8, "links.span_id", errors, optional=False, rows=rows),
                pa.array(self.link_state, pa.string()),
                self.link_attrs.build(),
                pa.array(self.link_dropped, pa.uint32()),
                pa.array(self.link_flags, pa.uint32()),
            ],
            fields=list(LINK),
        )
        columns = {
            "trace_id": fixed_ids(self.trace_id, 16, "trace_id", errors, optional=False),
            "span_id": fixed_ids(self.span_id, 8, "span_id", errors, optional=False),
            "parent_span_id": fixed_ids(
                self.parent,
                8,
                "parent_span_id",
                errors,
                optional=True,
            ),
            "trace_state": pa.array(self.trace_state, DICT_STRING),
            "flags": pa.array(self.flags, pa.uint32()),
            "name": pa.array(self.name, DICT_STRING),
            "kind": pa.array(self.kind, pa.int32()),
            "start_time": start_ts,
            "end_time": end_ts,
            "duration_ns": pc.subtract(end_ts.cast(pa.int64()), start_ts.cast(pa.int64())),
            "status_code": pa.array(self.status_code, pa.int32()),
            "status_message": pa.array(self.status_message, DICT_STRING),
            "attributes": self.attrs.build(),
            "dropped_attributes_count": pa.array(self.dropped_attrs, pa.uint32()),
            "events": list_array(self.event_offsets, events, pa.list_(EVENT)),
            "dropped_events_count": pa.array(self.dropped_events, pa.uint32()),
            "links": list_array(self.link_offsets, links, pa.list_(LINK)),
            "dropped_links_count": pa.array(self.dropped_links, pa.uint32()),
        }
        columns.update(self.resource_scope.columns())
        return finish("traces", TRACES_SCHEMA, columns, errors, where, strict)

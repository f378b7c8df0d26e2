"""The logs columns, filled record by record by a front end (OTLP protobuf or SDK objects)."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from otlp_arrow.convert._columns import (
    Converted,
    ResourceScope,
    RowErrors,
    finish,
    fixed_ids,
    timestamps,
)
from otlp_arrow.convert._values import AnyValues, Attributes
from otlp_arrow.schema import DICT_STRING, LOGS_SCHEMA


class LogColumns:
    def __init__(self) -> None:
        self.resource_scope = ResourceScope()
        self.errors = RowErrors()
        self.time: list[int] = []
        self.observed: list[int] = []
        self.severity_number: list[int] = []
        self.severity_text: list[str] = []
        self.body = AnyValues()
        self.attrs = Attributes()
        self.dropped: list[int] = []
        self.flags: list[int] = []
        self.trace_id: list[bytes] = []
        self.span_id: list[bytes] = []
        self.event_name: list[str] = []

    def finish(self, strict: bool, where: Callable[[int], str]) -> Converted:
        errors = self.errors
        columns = {
            "time": timestamps(self.time, "time_unix_nano", errors),
            "observed_time": timestamps(self.observed, "observed_time_unix_nano", errors),
            "severity_number": pa.array(self.severity_number, pa.int32()),
            "severity_text": pa.array(self.severity_text, DICT_STRING),
            "body": self.body.build(),
            "attributes": self.attrs.build(),
            "dropped_attributes_count": pa.array(self.dropped, pa.uint32()),
            "flags": pa.array(self.flags, pa.uint32()),
            "trace_id": fixed_ids(self.trace_id, 16, "trace_id", errors, optional=True),
            "span_id": fixed_ids(self.span_id, 8, "span_id", errors, optional=True),
            "event_name": pa.array(self.event_name, DICT_STRING),
        }
        columns.update(self.resource_scope.columns())
        return finish("logs", LOGS_SCHEMA, columns, errors, where, strict)

"""The metrics columns, filled data point by data point by a front end (OTLP protobuf or
SDK objects)."""

from __future__ import annotations

import bisect
from typing import Any

import pyarrow as pa

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
from otlp_arrow.schema import EXEMPLAR, METRIC_COLUMNS, METRICS_SCHEMA

POINT_ONLY = (
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


class Exemplars:
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

    def add_sdk(self, exemplars: Any, row: int) -> None:
        """SDK exemplars, as the official encoder writes them (ids only when both are set)."""
        for ex in exemplars:
            self.attrs.add_py_row(ex.filtered_attributes)
            self.time.append(ex.time_unix_nano or 0)
            value = ex.value
            is_double = isinstance(value, float)
            self.value_double.append(value if is_double else None)
            self.value_int.append(None if is_double else int(value))
            with_ids = ex.span_id is not None and ex.trace_id is not None
            self.span_id.append(ex.span_id.to_bytes(8, "big") if with_ids else b"")
            self.trace_id.append(ex.trace_id.to_bytes(16, "big") if with_ids else b"")
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


class MetricColumns:
    def __init__(self) -> None:
        self.resource_scope = ResourceScope()
        self.errors = RowErrors()
        self.cols: dict[str, list[Any]] = {
            name: [] for name in (*METRIC_COLUMNS, "start_time", "time", "flags", *POINT_ONLY)
        }
        self.metadata = Attributes()
        self.attrs = Attributes()
        self.exemplars = Exemplars()
        self.rows = 0
        self.filled: set[str] = set()  # type-specific columns some point has a value for
        self.metric_starts: list[int] = []  # first row of each metric, for error locations
        self.metric_where: list[str] = []

    def add_metric(
        self,
        scope: int,
        name: str,
        description: str,
        unit: str,
        kind: str,
        temporality: int | None,
        monotonic: bool | None,
        points: int,
        where: str,
    ) -> None:
        """Start a metric of ``points`` data points (added next with ``add_point``)."""
        self.metric_starts.append(self.rows)
        self.metric_where.append(where)
        self.resource_scope.row_scope.extend([scope] * points)
        for column, value in zip(
            METRIC_COLUMNS, (name, description, unit, kind, temporality, monotonic), strict=True
        ):
            self.cols[column].extend([value] * points)

    def add_points(
        self, start: list[int], time: list[int], flags: list[int], values: dict[str, list[Any]]
    ) -> None:
        """The data points of the metric just started, column by column: ``values`` maps
        type-specific columns to one value per point (columns not given are null). The
        caller adds attributes, metadata and exemplars per point."""
        cols = self.cols
        n = len(time)
        cols["start_time"].extend(start)
        cols["time"].extend(time)
        cols["flags"].extend(flags)
        nulls = [None] * n
        for column in POINT_ONLY:
            cols[column].extend(values.get(column, nulls))
        self.filled.update(values)
        self.rows += n

    def finish(self, strict: bool) -> Converted:
        errors = self.errors
        cols = self.cols
        columns: dict[str, pa.Array] = {
            name: pa.array(values, METRICS_SCHEMA.field(name).type)
            if name in self.filled or name not in POINT_ONLY
            else pa.nulls(self.rows, METRICS_SCHEMA.field(name).type)
            for name, values in cols.items()
            if name not in ("start_time", "time")
        }
        columns["start_time"] = timestamps(cols["start_time"], "start_time_unix_nano", errors)
        columns["time"] = timestamps(cols["time"], "time_unix_nano", errors)
        columns["metric_metadata"] = self.metadata.build()
        columns["attributes"] = self.attrs.build()
        columns["exemplars"] = self.exemplars.build(errors)
        columns.update(self.resource_scope.columns())

        def where(row: int) -> str:
            metric = bisect.bisect_right(self.metric_starts, row) - 1
            return f"{self.metric_where[metric]}[{row - self.metric_starts[metric]}]"

        return finish("metrics", METRICS_SCHEMA, columns, errors, where, strict)

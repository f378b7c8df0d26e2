"""Printing query results for people (a table) and for pipes (CSV, JSON lines, Arrow)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, TextIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from otlp_arrow.display import display_any_value, display_bytes, display_value
from otlp_arrow.schema import ANY_VALUE_FIELDS, map_timestamps

FORMATS = ("table", "csv", "json", "arrow")


def for_display(table: pa.Table) -> pa.Table:
    """Ids and bytes as lowercase hex, times as ISO 8601 text, nested values as JSON text
    (:func:`display_rows` has them as JSON values)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        flat = _flat(column, field.type)
        if flat is None:
            flat = pa.array(
                [None if v is None else json.dumps(v, ensure_ascii=False) for v in _nested(column)],
                pa.string(),
            )
        columns.append(flat)
    return pa.Table.from_arrays(columns, names=table.column_names)


def display_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The rows of ``table`` as :func:`for_display` shows them, nested values as JSON values
    (maps as objects, empty ones too; times in them as at the top level)."""
    values = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        flat = _flat(column, field.type)
        values[field.name] = _nested(column) if flat is None else flat.to_pylist()
    return [dict(zip(values, row, strict=True)) for row in zip(*values.values(), strict=True)]


def _flat(column: Any, type_: pa.DataType) -> Any:
    """A column that is not nested as display text (None for a nested one)."""
    if pa.types.is_dictionary(type_):
        column, type_ = column.cast(type_.value_type), type_.value_type
    if pa.types.is_binary(type_) or pa.types.is_fixed_size_binary(type_):
        return pa.array(
            [None if v is None else display_bytes(v) for v in column.to_pylist()], pa.string()
        )
    if pa.types.is_timestamp(type_):
        return pc.strftime(column, format=TIME_FORMAT)
    return None if pa.types.is_nested(type_) else column


#: how times are shown (``%S`` has the fraction: nanoseconds for the stored times)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _nested(column: Any) -> list[Any]:
    """A nested column's values as JSON-ready Python, told by its type: maps as objects,
    AnyValues as their values, bytes as hex, times as :data:`TIME_FORMAT` text."""
    target = map_timestamps(column.type, pa.int64(), decode_dictionaries=True)
    rows = column.cast(target).to_pylist() if target != column.type else column.to_pylist()
    return [_value(v, column.type) for v in rows]


def _value(value: Any, type_: pa.DataType) -> Any:
    if value is None:
        return None
    if isinstance(type_, pa.DictionaryType):
        return _value(value, type_.value_type)
    if isinstance(type_, pa.TimestampType):  # an int of the type's unit, cast above
        return _time_text(value, type_.unit)
    if isinstance(type_, pa.MapType):
        return {k: _value(v, type_.item_type) for k, v in value}
    if isinstance(type_, pa.ListType | pa.LargeListType | pa.FixedSizeListType):
        return [_value(v, type_.value_type) for v in value]
    if isinstance(type_, pa.StructType):
        if {f.name for f in type_} == set(ANY_VALUE_FIELDS):
            return display_any_value(value)
        return {f.name: _value(value[f.name], f.type) for f in type_}
    return display_value(value)


def _time_text(value: int, unit: str) -> str:
    """What ``pc.strftime(..., TIME_FORMAT)`` writes for a time of ``unit`` (the fraction has
    the unit's digits), for one value (no datetime: it has only microseconds)."""
    digits = _DIGITS[unit]
    seconds, part = divmod(value, 10**digits)
    whole = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{part:0{digits}d}Z" if digits else f"{whole}Z"


_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def write(table: pa.Table, fmt: str, text: TextIO, binary: BinaryIO, max_rows: int = 50) -> None:
    if fmt == "arrow":
        with pa.ipc.new_stream(binary, table.schema) as writer:
            writer.write_table(table)
    elif fmt == "json":
        for row in display_rows(table):
            text.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        pa_csv.write_csv(for_display(table), binary)
    else:
        text.write(render_table(for_display(table), max_rows))


def render_table(table: pa.Table, max_rows: int = 50) -> str:
    """A plain text table that fits the terminal (cells cut with …)."""
    width = shutil.get_terminal_size((120, 24)).columns
    names = table.column_names
    rows = [
        ["" if v is None else str(v) for v in row.values()]
        for row in table.slice(0, max_rows).to_pylist()
    ]
    # natural widths (at most 60), then narrow the widest columns until the line fits
    widths = [min(60, max([len(n)] + [len(r[i]) for r in rows])) for i, n in enumerate(names)]
    while sum(widths) + 3 * (len(widths) - 1) > width and max(widths) > 8:
        widths[widths.index(max(widths))] -= 1

    def line(values: list[str]) -> str:
        return " | ".join(_cut(v, w).ljust(w) for v, w in zip(values, widths, strict=True))

    out = [line(names), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    more = table.num_rows - len(rows)
    out.append(
        f"({table.num_rows} row{'s' if table.num_rows != 1 else ''}"
        + (f", {more} not shown; use --format csv or json for all)" if more > 0 else ")")
    )
    return "\n".join(out) + "\n"


def _cut(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def tail_lines(signal: str, batch: pa.RecordBatch, service: str | None) -> list[str]:
    """One readable line per span or log record of ``batch`` (only ``service``'s if given)."""
    lines = []
    for row in for_display(pa.Table.from_batches([batch])).to_pylist():
        if service is not None and row["service_name"] != service:
            continue
        if signal == "traces":
            status = _STATUS.get(row["status_code"], "unset")
            lines.append(
                f"{row['start_time']} span {row['service_name']} {row['name']} "
                f"{(row['duration_ns'] or 0) / 1e6:.1f} ms {status} {row['trace_id']}"
            )
        else:
            body = row["body"]
            text = json.loads(body) if body else ""  # an AnyValue: its value as JSON text
            lines.append(
                f"{row['time'] or row['observed_time']} log {row['service_name']} "
                f"{row['severity_text'] or row['severity_number']} {text} "
                f"{row['trace_id'] or '-'}"
            )
    return lines


_STATUS = {0: "unset", 1: "ok", 2: "ERROR"}

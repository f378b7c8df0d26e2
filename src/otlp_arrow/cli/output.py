"""Printing query results for people (a table) and for pipes (CSV, JSON lines, Arrow)."""

from __future__ import annotations

import json
import shutil
from typing import Any, BinaryIO, TextIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from otlp_arrow.display import display_bytes, display_value
from otlp_arrow.schema import map_timestamps

FORMATS = ("table", "csv", "json", "arrow")


def for_display(table: pa.Table) -> pa.Table:
    """Ids and bytes as lowercase hex, times as ISO 8601 text, nested values as JSON text
    (:func:`otlp_arrow.query.display_value`)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        type_ = field.type
        if pa.types.is_dictionary(type_):
            column = column.cast(type_.value_type)
            type_ = type_.value_type
        if pa.types.is_binary(type_) or pa.types.is_fixed_size_binary(type_):
            column = pa.array(
                [None if v is None else display_bytes(v) for v in column.to_pylist()], pa.string()
            )
        elif pa.types.is_timestamp(type_):
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        elif pa.types.is_nested(type_):
            column = pa.array(
                [
                    None if v is None else json.dumps(display_value(v), ensure_ascii=False)
                    for v in _times_as_text(column, type_).to_pylist()
                ],
                pa.string(),
            )
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _times_as_text(column: Any, type_: pa.DataType) -> Any:
    """Nested timestamps cannot become Python datetimes at ns precision: cast them to text."""
    target = map_timestamps(type_, pa.string(), decode_dictionaries=True)
    return column if target == type_ else column.cast(target)


def write(table: pa.Table, fmt: str, text: TextIO, binary: BinaryIO, max_rows: int = 50) -> None:
    if fmt == "arrow":
        with pa.ipc.new_stream(binary, table.schema) as writer:
            writer.write_table(table)
        return
    shown = for_display(table)
    if fmt == "csv":
        pa_csv.write_csv(shown, binary)
    elif fmt == "json":
        for row in shown.to_pylist():
            text.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        text.write(render_table(shown, max_rows))


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

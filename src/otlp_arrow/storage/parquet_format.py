"""How sealed and compacted Parquet files are laid out: writer properties, per-column encodings,
sort keys and sizes, in one place (measured in ``benches/bench_storage.py``; the reasons are in
docs/storage.md, "Parquet layout").

Only the physical layout is chosen here; the rows and the Arrow schema (stored in the file) are
those of the stream files, so sealing and compaction stay lossless.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from otlp_arrow.schema import as_signal, schema_for

#: Rows per row group: the unit engines skip by statistics. pyarrow decodes every column of a
#: row group it cannot skip, so a trace lookup costs one row group: 16Ki rows measured 5x
#: faster to look up in than 128Ki, for 2 % more bytes.
ROW_GROUP_ROWS = 16 * 1024
#: What compaction aims at per file (the uncompressed stream files are several times larger).
TARGET_FILE_BYTES = 128 * 1024 * 1024
#: Sealed files below this size are merged by compaction.
SMALL_FILE_BYTES = TARGET_FILE_BYTES // 2
#: zstd level of sealing: 3 is 5-9 % smaller than the default (1) for a little seal time.
ZSTD_LEVEL = 3
#: zstd level of compaction (once per span under load): on the demo shop's spans and logs 6 is
#: as small as 9 (38.9 / 36.3 against 38.8 / 36.5 B per row) for a third less write CPU, and
#: 4-5 % smaller than 3 (docs/performance.md, "The server path end to end").
COMPACT_ZSTD_LEVEL = 6

#: The order of rows within a compacted file, per signal (what queries filter and group on).
#: Traces by trace id first: a trace-by-id lookup reads one row group in any engine (min/max
#: statistics), and the spans of a trace sit together.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "traces": ("trace_id", "start_time"),
    "metrics": ("service_name", "metric_name", "time"),
    "logs": ("service_name", "time"),
}

#: Encodings other than the default (dictionary, falling back to plain), measured per column
#: on the demo shop's telemetry: random ids never repeat, so a dictionary only costs; spread
#: numbers shrink best split into byte streams. Timestamp columns keep the dictionary although
#: plain would be smaller: Iceberg's Spark reader (1.12) fails on a nanosecond timestamp column
#: whose pages are not dictionary-encoded (ClassCastException TimestampType/TimestampNanoType),
#: and a row group of ROW_GROUP_ROWS never outgrows the dictionary page (16Ki x 8 B < 1 MiB).
ENCODINGS: dict[str, dict[str, str]] = {
    "traces": {
        "trace_id": "PLAIN",
        "span_id": "PLAIN",
        "parent_span_id": "PLAIN",
        "duration_ns": "BYTE_STREAM_SPLIT",
    },
    "metrics": {
        "value_double": "BYTE_STREAM_SPLIT",
        "value_int": "BYTE_STREAM_SPLIT",
        "sum": "BYTE_STREAM_SPLIT",
        "count": "BYTE_STREAM_SPLIT",
        "min": "PLAIN",
        "max": "PLAIN",
    },
    "logs": {
        "trace_id": "PLAIN",
        "span_id": "PLAIN",
    },
}

#: High-cardinality columns looked up by equality: a Bloom filter each (pyarrow 26 writes
#: them; DuckDB, Spark and Trino read them to skip row groups; pyarrow itself does not).
BLOOM_COLUMNS: dict[str, tuple[str, ...]] = {
    "traces": ("trace_id",),
    "metrics": (),
    "logs": ("trace_id",),
}
_BLOOM_FPP = 0.01


def writer_options(
    signal: str, rows: int = ROW_GROUP_ROWS, level: int = ZSTD_LEVEL, *, in_order: bool = False
) -> dict[str, Any]:
    """Keyword arguments for ``pq.ParquetWriter`` for a file of ``signal`` (``rows``: about how
    many rows a row group holds, to size the Bloom filters; ``level``: zstd's; ``in_order``:
    the rows are in :data:`SORT_KEYS` order, which the row groups then say — an engine may
    trust it, so a file in stream order must not)."""
    name = as_signal(signal)
    encodings = ENCODINGS[name]
    ndv = max(1, min(rows, ROW_GROUP_ROWS))
    return {
        "compression": "zstd",
        "compression_level": level,
        "write_statistics": True,
        "write_page_index": True,
        "store_schema": True,
        "sorting_columns": sorting_columns(name) if in_order else None,
        "bloom_filter_options": {c: {"ndv": ndv, "fpp": _BLOOM_FPP} for c in BLOOM_COLUMNS[name]},
        "use_dictionary": [f.name for f in schema_for(name) if f.name not in encodings],
        "column_encoding": dict(encodings),
    }


def sorting_columns(signal: str) -> tuple[pq.SortingColumn, ...]:
    """The sort order recorded in each row group's metadata (readers may use it)."""
    names = schema_for(signal).names
    return tuple(pq.SortingColumn(names.index(key)) for key in SORT_KEYS[as_signal(signal)])


def sort_rows(table: pa.Table, signal: str) -> pa.Table:
    """``table`` with its rows in the signal's :data:`SORT_KEYS` order (stable: rows equal on
    every key keep their order)."""
    keys = SORT_KEYS[as_signal(signal)]
    columns = [_sortable(table.column(k)) for k in keys]
    order = pc.sort_indices(
        pa.table(dict(zip(keys, columns, strict=True))),
        sort_keys=[(k, "ascending", "at_end") for k in keys],
    )
    return table.take(order)


def _sortable(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def open_writer(
    sink: Any,
    schema: pa.Schema,
    signal: str,
    rows: int = ROW_GROUP_ROWS,
    level: int = ZSTD_LEVEL,
    *,
    in_order: bool = False,
) -> pq.ParquetWriter:
    """A ParquetWriter with the layout of this module on ``sink`` (a path or binary file)."""
    options = writer_options(signal, rows, level, in_order=in_order)
    return pq.ParquetWriter(sink, schema, **options)


def write_table(sink: Any, table: pa.Table, signal: str, level: int = ZSTD_LEVEL) -> None:
    """Write ``table``, its rows in :data:`SORT_KEYS` order (:func:`sort_rows`), to ``sink`` as
    one Parquet file whose row groups say so."""
    rows = min(table.num_rows, ROW_GROUP_ROWS)
    with open_writer(sink, table.schema, signal, rows, level, in_order=True) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)

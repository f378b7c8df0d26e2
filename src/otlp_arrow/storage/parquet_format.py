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

from otlp_arrow.schema import as_signal

#: Rows per row group: the unit engines skip by statistics and read in parallel.
ROW_GROUP_ROWS = 128 * 1024
#: What compaction aims at per file (the uncompressed stream files are several times larger).
TARGET_FILE_BYTES = 128 * 1024 * 1024
#: Sealed files below this size are merged by compaction.
SMALL_FILE_BYTES = TARGET_FILE_BYTES // 2
#: zstd level: 3 measured smaller than the default (1) at a small cost in seal time.
ZSTD_LEVEL = 3

#: The order of rows within a file, per signal (what queries filter and group on).
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "traces": ("service_name", "trace_id", "start_time"),
    "metrics": ("service_name", "metric_name", "time"),
    "logs": ("service_name", "time"),
}

#: Columns whose values are timestamps or counters that grow along the sort order.
_DELTA_COLUMNS: dict[str, tuple[str, ...]] = {
    "traces": (),
    "metrics": (),
    "logs": (),
}

#: High-cardinality columns looked up by equality: a Bloom filter each (pyarrow >= 19 writes
#: them; DuckDB reads them to skip row groups).
BLOOM_COLUMNS: dict[str, tuple[str, ...]] = {
    "traces": ("trace_id",),
    "metrics": (),
    "logs": ("trace_id",),
}
#: Random ids: a dictionary never pays, and falling back to plain costs a wasted attempt.
_PLAIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "traces": ("span_id", "parent_span_id"),
    "metrics": (),
    "logs": ("span_id",),
}
_BLOOM_FPP = 0.01


def writer_options(signal: str, rows: int = ROW_GROUP_ROWS) -> dict[str, Any]:
    """Keyword arguments for ``pq.ParquetWriter`` for a file of ``signal`` (``rows``: about how
    many rows a row group holds, to size the Bloom filters)."""
    name = as_signal(signal)
    plain = _PLAIN_COLUMNS[name] + _DELTA_COLUMNS[name]
    encodings = {c: "PLAIN" for c in _PLAIN_COLUMNS[name]}
    encodings.update({c: "DELTA_BINARY_PACKED" for c in _DELTA_COLUMNS[name]})
    ndv = max(1, min(rows, ROW_GROUP_ROWS))
    options: dict[str, Any] = {
        "compression": "zstd",
        "compression_level": ZSTD_LEVEL,
        "write_statistics": True,
        "write_page_index": True,
        "store_schema": True,
        "sorting_columns": sorting_columns(name),
        "bloom_filter_options": {
            c: {"ndv": ndv, "fpp": _BLOOM_FPP} for c in BLOOM_COLUMNS[name]
        },
    }
    if plain:
        dictionary = [
            f.name for f in pq_schema_fields(name) if f.name not in plain
        ]
        options["use_dictionary"] = dictionary
        options["column_encoding"] = encodings
    return options


def pq_schema_fields(signal: str) -> list[pa.Field]:
    from otlp_arrow.schema import schema_for

    return list(schema_for(signal))


def sorting_columns(signal: str) -> tuple[pq.SortingColumn, ...]:
    """The sort order recorded in each row group's metadata (readers may use it)."""
    from otlp_arrow.schema import schema_for

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
    sink: Any, schema: pa.Schema, signal: str, rows: int = ROW_GROUP_ROWS
) -> pq.ParquetWriter:
    """A ParquetWriter with the layout of this module on ``sink`` (a path or binary file)."""
    return pq.ParquetWriter(sink, schema, **writer_options(signal, rows))


def write_table(sink: Any, table: pa.Table, signal: str) -> None:
    """Write ``table`` (rows already in order) to ``sink`` as one Parquet file."""
    with open_writer(sink, table.schema, signal, min(table.num_rows, ROW_GROUP_ROWS)) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)

"""Our Arrow schemas as Iceberg schemas (format version 2), and back: pure, no I/O.

Sealed Parquet files are added to the tables as they are, so each Iceberg type must read the
Parquet column our writer wrote, losslessly (docs/schema.md, "In Iceberg"):

- ``timestamp[ns, UTC]`` becomes ``timestamptz`` (microseconds): Iceberg v2 has only
  microsecond timestamps and pyiceberg 0.12 cannot write v3 tables (``timestamptz_ns``).
  Iceberg readers truncate the nanosecond digits of the files (which keep them: ``read_table``
  and ``connect`` read them whole). A ``long`` column would keep them, but pyiceberg's
  ``scan()`` refuses to read a Parquet timestamp as a long.
- ``uint32`` becomes ``long`` (exact); ``uint64`` becomes ``long`` (exact up to 2^63 - 1:
  engines that ignore Parquet's unsigned annotation read larger counts as negative).
- ``dictionary<string>`` becomes ``string`` (a dictionary is a Parquet encoding, not a type).
- ``fixed_size_binary(n)`` becomes ``fixed[n]``; maps, lists and structs map one to one.

``to_arrow`` turns what pyiceberg's ``scan().to_arrow()`` gives back into our schema (times
in nanoseconds, their last three digits zero).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from otlp_arrow.schema import Signal, schema_for

#: The column retention measures a row's age by (the newest value of it in a file).
TIME_COLUMNS: dict[str, str] = {"traces": "start_time", "metrics": "time", "logs": "observed_time"}


def iceberg_schema(signal: Signal) -> Any:
    """The Iceberg schema (``pyiceberg.schema.Schema``) of ``signal``'s table."""
    from pyiceberg.schema import Schema

    ids = itertools.count(1)
    top = [_field(f, ids) for f in schema_for(signal)]
    return Schema(*top)


def _field(f: pa.Field, ids: Iterator[int]) -> Any:
    from pyiceberg.types import NestedField

    field_id = next(ids)
    return NestedField(field_id, f.name, _type(f.type, ids), required=not f.nullable)


def _type(t: pa.DataType, ids: Iterator[int]) -> Any:
    from pyiceberg import types as it

    if isinstance(t, pa.DictionaryType):
        return _type(t.value_type, ids)
    if isinstance(t, pa.MapType):
        key_id, value_id = next(ids), next(ids)
        return it.MapType(
            key_id,
            _type(t.key_type, ids),
            value_id,
            _type(t.item_type, ids),
            value_required=not t.item_field.nullable,
        )
    if isinstance(t, pa.ListType):
        element_id = next(ids)
        return it.ListType(
            element_id, _type(t.value_type, ids), element_required=not t.value_field.nullable
        )
    if isinstance(t, pa.StructType):
        return it.StructType(*(_field(f, ids) for f in t))
    if isinstance(t, pa.FixedSizeBinaryType):
        return it.FixedType(t.byte_width)
    primitive = _PRIMITIVES.get(str(t))
    if primitive is None:  # pragma: no cover - a new Arrow type in schema.py: map it here
        raise TypeError(f"no Iceberg type for Arrow {t}")
    return getattr(it, primitive)()


_PRIMITIVES = {
    "bool": "BooleanType",
    "int32": "IntegerType",
    "int64": "LongType",
    "uint32": "LongType",
    "uint64": "LongType",
    "double": "DoubleType",
    "string": "StringType",
    "binary": "BinaryType",
    "timestamp[ns, tz=UTC]": "TimestamptzType",
}


def to_arrow(table: pa.Table, signal: Signal) -> pa.Table:
    """A table scanned from Iceberg (microsecond times, plain strings) in our schema, with
    its metadata: what ``read_table`` gives for the same files, times cut to microseconds."""
    schema = schema_for(signal)
    columns = [_cast(table.column(f.name), f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _cast(column: pa.ChunkedArray, to: pa.DataType) -> pa.ChunkedArray:
    return pa.chunked_array([_cast_array(c, to) for c in column.chunks], type=to)


def _cast_array(array: pa.Array, to: pa.DataType) -> pa.Array:
    """``array`` as ``to``, also inside lists, maps and structs (``Array.cast`` cannot turn
    int64 into timestamps nested in a struct, nor strings into dictionaries)."""
    if array.type == to:
        return array
    if isinstance(to, pa.DictionaryType):
        return pc.dictionary_encode(_cast_array(array, to.value_type)).cast(to)
    if isinstance(to, pa.TimestampType):  # us -> ns is exact; ns -> us cuts (tests)
        return array.cast(to, safe=False)
    if isinstance(to, pa.MapType):
        keys = _cast_array(array.keys, to.key_type)
        items = _cast_array(array.items, to.item_type)
        return pa.MapArray.from_arrays(
            array.offsets, keys, items, type=to, mask=array.is_null() if array.null_count else None
        )
    if isinstance(to, pa.ListType):
        values = _cast_array(array.values, to.value_type)
        return pa.ListArray.from_arrays(
            array.offsets, values, type=to, mask=array.is_null() if array.null_count else None
        )
    if isinstance(to, pa.StructType):
        children = [_cast_array(array.field(f.name), f.type) for f in to]
        return pa.StructArray.from_arrays(
            children, fields=list(to), mask=array.is_null() if array.null_count else None
        )
    return array.cast(to)


def newest_row_s(meta: Any, column: str) -> float | None:
    """The newest time in ``column`` of a Parquet file (``pyarrow.parquet.FileMetaData``),
    in seconds since the epoch, from its row-group statistics; None if none are written."""
    index = meta.schema.names.index(column) if column in meta.schema.names else -1
    if index < 0:  # pragma: no cover - every schema has its time column
        return None
    newest: int | None = None
    for rg in range(meta.num_row_groups):
        stats = meta.row_group(rg).column(index).statistics
        if stats is None or not stats.has_min_max:
            continue
        value = _nanos(stats.max)
        newest = value if newest is None else max(newest, value)
    return None if newest is None else newest / 1e9


def _nanos(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(pa.scalar(value, type=pa.timestamp("ns", tz="UTC")).cast(pa.int64()).as_py())

"""A table's columns as Python lists, and stored attributes and AnyValues as OTLP messages:
what ``to_otlp`` builds the requests from."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from otlp_arrow.convert.anyvalue_json import stored_value
from otlp_arrow.schema import ATTRIBUTES, Signal, conform, map_timestamps


def columns_as_lists(data: pa.Table | pa.RecordBatch, signal: Signal) -> dict[str, list[Any]]:
    """The signal's columns of ``data`` as Python lists, times as int nanoseconds (which,
    unlike datetimes, keep every nanosecond through ``to_pylist``)."""
    table = conform(data, signal)
    target = pa.schema([f.with_type(map_timestamps(f.type, pa.int64())) for f in table.schema])
    table = table.cast(target)
    return {name: _as_list(table.column(name)) for name in table.schema.names}


def _as_list(column: pa.ChunkedArray) -> list[Any]:
    """``column.to_pylist()``, converting each dictionary once instead of once per row (rows
    of one resource then share one object, which also makes grouping them cheap), and
    attribute maps without building a dict of every AnyValue field per value."""
    if column.type == ATTRIBUTES:
        return [row for chunk in column.chunks for row in _attribute_rows(chunk)]
    if not pa.types.is_dictionary(column.type):
        return column.to_pylist()  # type: ignore[no-any-return]
    out: list[Any] = []
    for chunk in column.chunks:
        values = chunk.dictionary.to_pylist()
        out.extend(None if i is None else values[i] for i in chunk.indices.to_pylist())
    return out


def _attribute_rows(chunk: pa.MapArray) -> list[list[tuple[str, dict[str, Any] | None]] | None]:
    """The rows of an attribute map chunk as ``to_pylist`` would give them, except that each
    value is ``{kind: item}`` for its one set field (``{}`` for an empty AnyValue, None for a
    KeyValue without value): column by column, about twice as fast."""
    offsets = np.asarray(chunk.offsets)  # into the whole child, also for a sliced chunk
    first, count = int(offsets[0]), int(offsets[-1] - offsets[0])
    keys = chunk.keys.slice(first, count)
    if pa.types.is_dictionary(keys.type):
        names = keys.dictionary.to_pylist()
        key_list = [names[i] for i in keys.indices.to_pylist()]
    else:
        key_list = keys.to_pylist()
    items = chunk.items.slice(first, count)
    kinds = [f.name for f in items.type]
    fields = items.flatten()
    masks = np.stack([np.asarray(f.is_valid()) for f in fields]) if fields else None
    values: list[dict[str, Any] | None] = []
    if masks is not None and len(items):
        kind = np.where(masks.any(axis=0), masks.argmax(axis=0), -1).tolist()
        lists = [f.to_pylist() if masks[i].any() else [] for i, f in enumerate(fields)]
        present = np.asarray(items.is_valid()).tolist()
        for j, k in enumerate(kind):
            values.append(None if not present[j] else {} if k < 0 else {kinds[k]: lists[k][j]})
    pairs = list(zip(key_list, values, strict=True))
    bounds = (offsets - first).tolist()
    valid = np.asarray(chunk.is_valid()).tolist() if chunk.null_count else None
    return [
        pairs[bounds[r] : bounds[r + 1]] if valid is None or valid[r] else None
        for r in range(len(chunk))
    ]


def kvs(items: list[tuple[str, dict[str, Any] | None]] | None) -> list[KeyValue]:
    """The KeyValue messages of one row of ``_attribute_rows`` (None: a null map)."""
    if not items:
        return []
    return [
        KeyValue(key=key) if value is None else KeyValue(key=key, value=stored_value(value))
        for key, value in items
    ]

"""Column helpers shared by the converters: ids, timestamps, lists, the resource and scope
columns, row errors and the finished batch.

The front ends (OTLP protobuf, SDK objects) only append to flat Python lists per item; the
typing, null masks and nesting are done here afterwards, vectorised, by pyarrow and numpy.
That is what makes the conversion fast (see docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from otlp_arrow.convert._arrays import null_mask
from otlp_arrow.convert._values import Attributes
from otlp_arrow.convert.anyvalue_json import INT64_MAX
from otlp_arrow.errors import ConversionError
from otlp_arrow.schema import (
    ENTITY_REF,
    TIMESTAMP,
    Signal,
)


class RowErrors:
    """Collects per-row problems found while building columns (first message kept per row)."""

    def __init__(self) -> None:
        self.by_row: dict[int, str] = {}

    def add(self, row: int, message: str) -> None:
        self.by_row.setdefault(row, message)

    def add_mask(self, bad: np.ndarray, message_for: Any) -> None:
        for row in np.flatnonzero(bad).tolist():
            self.add(row, message_for(row))


def timestamps(values: Sequence[int], field: str, errors: RowErrors) -> pa.Array:
    """OTLP ``fixed64`` nanoseconds -> ``timestamp[ns, UTC]``; 0 (unset) becomes null.

    Values beyond the int64 range (after the year 2262) are reported as row errors.
    """
    raw = np.fromiter(values, dtype=np.uint64, count=len(values))
    too_big = raw > INT64_MAX
    if too_big.any():
        errors.add_mask(
            too_big,
            lambda row: f"{field}: {values[row]} is beyond the timestamp range (max {INT64_MAX})",
        )
        raw[too_big] = 0
    as_int = raw.astype(np.int64)
    return pa.array(as_int, type=TIMESTAMP, mask=as_int == 0)


def fixed_ids(
    values: Sequence[bytes | None],
    width: int,
    field: str,
    errors: RowErrors,
    *,
    optional: bool,
    rows: Sequence[int] | None = None,
) -> pa.Array:
    """Ids as ``fixed_size_binary(width)``. Empty optional ids become null; any other length
    is a row error (``rows`` maps each value to its row when values are nested)."""
    if optional:
        values = [v or None for v in values]
    try:
        return pa.array(values, pa.binary(width))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    cleaned: list[bytes | None] = []
    for i, v in enumerate(values):
        if v is None or len(v) == width:
            cleaned.append(v)
            continue
        what = "empty" if not v else f"{len(v)} bytes"
        errors.add(
            rows[i] if rows is not None else i, f"{field}: expected {width} bytes, got {what}"
        )
        cleaned.append(None)
    return pa.array(cleaned, pa.binary(width))


def list_array(
    offsets: list[int], values: pa.Array, list_type: pa.DataType, null_rows: Sequence[int] = ()
) -> pa.Array:
    """A list array from flat ``values`` and ``offsets`` (rows in ``null_rows`` are null)."""
    return pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()),
        values,
        type=list_type,
        mask=null_mask(len(offsets) - 1, null_rows),
    )


class ResourceScope:
    """The resource and scope columns: one entry per ResourceX / ScopeX, expanded per row."""

    def __init__(self) -> None:
        self.service: list[str | None] = []
        self.res_attrs = Attributes()
        self.res_dropped: list[int | None] = []
        self.res_entities: list[list[dict[str, Any]] | None] = []
        self.res_schema: list[str] = []
        self.scope_name: list[str | None] = []
        self.scope_version: list[str | None] = []
        self.scope_attrs = Attributes()
        self.scope_dropped: list[int | None] = []
        self.scope_schema: list[str] = []
        self.scope_of_scope: list[int] = []  # scope group -> resource group
        self.row_scope: list[int] = []  # row -> scope group
        self.location: list[tuple[int, int, int]] = []  # scope group -> (res idx, scope idx, row)

    def add_resource(self, holder: Any) -> int:
        """Record ``ResourceSpans``/``ResourceMetrics``/``ResourceLogs``; return its index."""
        if holder.HasField("resource"):
            resource = holder.resource
            self.res_attrs.add_row(resource.attributes)
            self.res_dropped.append(resource.dropped_attributes_count)
            self.res_entities.append(
                [
                    {
                        "schema_url": e.schema_url,
                        "type": e.type,
                        "id_keys": list(e.id_keys),
                        "description_keys": list(e.description_keys),
                    }
                    for e in resource.entity_refs
                ]
            )
            self.service.append(_service_name(resource.attributes))
        else:
            self.res_attrs.add_null_row()
            self.res_dropped.append(None)
            self.res_entities.append(None)
            self.service.append(None)
        self.res_schema.append(holder.schema_url)
        return len(self.res_schema) - 1

    def add_sdk_resource(self, resource: Any) -> int:
        """Record an SDK ``Resource`` as the official encoder does; return its index."""
        attributes = resource.attributes
        self.res_attrs.add_py_row(attributes)
        self.res_dropped.append(0)
        self.res_entities.append([])
        self.res_schema.append(resource.schema_url or "")
        service = attributes.get("service.name")
        self.service.append(service if isinstance(service, str) else None)
        return len(self.res_schema) - 1

    def add_sdk_scope(self, scope: Any, resource: int) -> int:
        """Record an SDK ``InstrumentationScope`` (None: an empty one, as the encoder does)."""
        self.scope_name.append(scope.name if scope else "")
        self.scope_version.append((scope.version or "") if scope else "")
        self.scope_attrs.add_py_row(scope.attributes if scope else None)
        self.scope_dropped.append(0)
        self.scope_schema.append((scope.schema_url or "") if scope else "")
        self.scope_of_scope.append(resource)
        self.location.append((0, 0, len(self.row_scope)))
        return len(self.scope_schema) - 1

    def add_scope(
        self, holder: Any, resource: int, res_pos: int, scope_pos: int, first_row: int
    ) -> int:
        """Record a ``ScopeSpans``/``ScopeMetrics``/``ScopeLogs``; return its index."""
        if holder.HasField("scope"):
            scope = holder.scope
            self.scope_name.append(scope.name)
            self.scope_version.append(scope.version)
            self.scope_attrs.add_row(scope.attributes)
            self.scope_dropped.append(scope.dropped_attributes_count)
        else:
            self.scope_name.append(None)
            self.scope_version.append(None)
            self.scope_attrs.add_null_row()
            self.scope_dropped.append(None)
        self.scope_schema.append(holder.schema_url)
        self.scope_of_scope.append(resource)
        self.location.append((res_pos, scope_pos, first_row))
        return len(self.scope_schema) - 1

    def scopes(
        self, holders: Iterable[Any], scopes_field: str, items_field: str
    ) -> Iterator[tuple[int, Any]]:
        """Walk ``ResourceX`` messages and their ``ScopeX``, recording both; yield each
        scope's index and its items (spans, metrics or log records). The caller appends the
        scope index to ``row_scope`` once per row it makes."""
        for res_pos, holder in enumerate(holders):
            resource = self.add_resource(holder)
            for scope_pos, scope_holder in enumerate(getattr(holder, scopes_field)):
                scope = self.add_scope(
                    scope_holder, resource, res_pos, scope_pos, len(self.row_scope)
                )
                yield scope, getattr(scope_holder, items_field)

    def where(self, row: int, outer: str, inner: str, items: str) -> str:
        """Human-readable path of ``row`` in the request, e.g. resource_spans[0]...spans[3]."""
        group = self.row_scope[row]
        res_pos, scope_pos, first = self.location[group]
        return f"{outer}[{res_pos}].{inner}[{scope_pos}].{items}[{row - first}]"

    def columns(self) -> dict[str, pa.Array]:
        scope_idx = pa.array(self.row_scope, pa.int32())
        res_idx = pa.array(self.scope_of_scope, pa.int32()).take(scope_idx)
        return {
            "service_name": _shared(pa.array(self.service, pa.string()), res_idx),
            "resource_attributes": self.res_attrs.build().take(res_idx),
            "resource_dropped_attributes_count": pa.array(self.res_dropped, pa.uint32()).take(
                res_idx
            ),
            "resource_entity_refs": _entity_refs(self.res_entities, res_idx),
            "resource_schema_url": _shared(pa.array(self.res_schema, pa.string()), res_idx),
            "scope_name": _shared(pa.array(self.scope_name, pa.string()), scope_idx),
            "scope_version": _shared(pa.array(self.scope_version, pa.string()), scope_idx),
            "scope_attributes": self.scope_attrs.build().take(scope_idx),
            "scope_dropped_attributes_count": pa.array(self.scope_dropped, pa.uint32()).take(
                scope_idx
            ),
            "scope_schema_url": _shared(pa.array(self.scope_schema, pa.string()), scope_idx),
        }


def _entity_refs(per_resource: list[list[dict[str, Any]] | None], index: pa.Array) -> pa.Array:
    """The entity refs column; built directly when no resource has any (the common case:
    SDK resources never do), which is much cheaper than converting and taking."""
    if all(refs == [] for refs in per_resource):
        return pa.ListArray.from_arrays(
            pa.array(np.zeros(len(index) + 1, dtype=np.int32)),
            _NO_ENTITY_REFS,
            type=pa.list_(ENTITY_REF),
        )
    return pa.array(per_resource, pa.list_(ENTITY_REF)).take(index)


_NO_ENTITY_REFS = pa.nulls(0, ENTITY_REF)  # pa.array would import pandas


def _shared(values: pa.Array, index: pa.Array) -> pa.DictionaryArray:
    """``values[index]`` (one value per resource or scope, ``index`` per row) as a dictionary
    array with a duplicate-free dictionary (pandas needs that), built from the few group
    values rather than from every row."""
    encoded = values.dictionary_encode()
    return pa.DictionaryArray.from_arrays(encoded.indices.take(index), encoded.dictionary)


def _service_name(attributes: Iterable[Any]) -> str | None:
    for kv in attributes:
        if kv.key == "service.name" and kv.value.WhichOneof("value") == "string_value":
            return str(kv.value.string_value)
    return None


@dataclass(frozen=True)
class Converted:
    """A converted request: the stored rows, and the items that could not be converted."""

    signal: Signal
    batch: pa.RecordBatch
    rejected: int = 0
    error: str | None = None  # the first rejection's message, naming the field


def finish(
    signal: Signal,
    schema: pa.Schema,
    columns: dict[str, pa.Array],
    errors: RowErrors,
    where: Callable[[int], str],
    strict: bool,
) -> Converted:
    batch = pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)
    if not errors.by_row:
        return Converted(signal, batch)
    first_row = min(errors.by_row)
    message = f"{where(first_row)}.{errors.by_row[first_row]}"
    if strict:
        raise ConversionError(message)
    keep = np.ones(batch.num_rows, dtype=bool)
    keep[list(errors.by_row)] = False
    return Converted(signal, batch.filter(pa.array(keep)), len(errors.by_row), message)


def check_nested_times(
    values: list[int], offsets: list[int], field: str, errors: RowErrors
) -> None:
    """Report rows whose nested timestamps (events, exemplars) exceed the int64 range."""
    if not values or max(values) <= 2**63 - 1:
        return
    rows = np.searchsorted(np.array(offsets[1:]), np.arange(len(values)), side="right")
    for i, value in enumerate(values):
        if value > 2**63 - 1:
            errors.add(int(rows[i]), f"{field}: {value} is beyond the timestamp range")

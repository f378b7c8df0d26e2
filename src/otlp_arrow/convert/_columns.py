"""Column builders for OTLP protobuf -> Arrow: flat Python lists in, typed Arrow arrays out.

Everything per item (per span, per attribute) is a handful of list appends; the typing,
null masks and nesting are done afterwards, vectorised, by pyarrow and numpy. This is what
makes the conversion fast (see docs/performance.md).
"""

from __future__ import annotations

import base64
import json
import logging
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from google.protobuf.message import Message
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.proto.common.v1.common_pb2 import KeyValueList

from otlp_arrow.errors import ConversionError
from otlp_arrow.schema import (
    ANY_VALUE,
    ANY_VALUE_FIELDS,
    ATTRIBUTES,
    DICT_STRING,
    ENTITY_REF,
    TIMESTAMP,
    Signal,
)

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
log = logging.getLogger(__name__)
# The profiles-only string table reference: meaningless in traces, metrics and logs.
_STRINDEX = "string_value_strindex"
_JSON_KINDS = {"array_value", "kvlist_value"}


class RowErrors:
    """Collects per-row problems found while building columns (first message kept per row)."""

    def __init__(self) -> None:
        self.by_row: dict[int, str] = {}

    def add(self, row: int, message: str) -> None:
        self.by_row.setdefault(row, message)

    def add_mask(self, bad: np.ndarray, message_for: Any) -> None:
        for row in np.flatnonzero(bad).tolist():
            self.add(row, message_for(row))


def any_value_json(message: Message) -> str:
    """OTLP/JSON text of an ``ArrayValue`` or ``KeyValueList``: exactly what
    ``json_format.MessageToDict`` gives (a test checks it), compact, several times faster."""
    return _JSON(_values_obj(message))


def _json_texts(messages: list[Any]) -> list[str]:
    """``any_value_json`` of each message, encoding each distinct message once."""
    cache: dict[bytes, str] = {}
    texts = []
    for message in messages:
        wire = message.SerializeToString()
        text = cache.get(wire)
        if text is None:
            text = cache[wire] = any_value_json(message)
        texts.append(text)
    return texts


def _values_obj(message: Any) -> dict[str, Any]:
    """``ArrayValue`` / ``KeyValueList`` as a JSON object (an empty list is omitted)."""
    values = message.values
    if not values:
        return {}
    if isinstance(message, KeyValueList):
        return {"values": [_kv_obj(kv) for kv in values]}
    return {"values": [_any_obj(value) for value in values]}


def _kv_obj(kv: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if kv.key:
        obj["key"] = kv.key
    if kv.HasField("value"):
        obj["value"] = _any_obj(kv.value)
    if kv.key_strindex:
        obj["keyStrindex"] = kv.key_strindex
    return obj


def _any_obj(value: Any) -> dict[str, Any]:
    kind = value.WhichOneof("value")
    if kind is None:
        return {}
    item = getattr(value, kind)
    if kind == "int_value":
        return {"intValue": str(item)}
    if kind == "double_value":
        if math.isnan(item):
            return {"doubleValue": "NaN"}
        if math.isinf(item):
            return {"doubleValue": "Infinity" if item > 0 else "-Infinity"}
        return {"doubleValue": item}
    if kind == "bytes_value":
        return {"bytesValue": base64.b64encode(item).decode("ascii")}
    if kind in _JSON_KINDS:
        return {_CAMEL[kind]: _values_obj(item)}
    return {_CAMEL[kind]: item}


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_FIELDS = (*ANY_VALUE_FIELDS, _STRINDEX)
_CODE: dict[str | None, int] = {name: code for code, name in enumerate(_FIELDS)}
_CODE[None] = -1
_INT = _CODE["int_value"]
_PY_CODE: dict[type, int] = {
    str: _CODE["string_value"],
    bool: _CODE["bool_value"],
    int: _INT,
    float: _CODE["double_value"],
    bytes: _CODE["bytes_value"],
}


def _items(attributes: Mapping[str, Any] | None) -> Iterable[tuple[str, Any]]:
    """The items of SDK attributes. A finished span's ``BoundedAttributes`` keeps a plain dict
    in ``_dict``; iterating that is several times faster than the ``Mapping`` protocol (which
    calls Python methods per key). Any other mapping goes the public way."""
    if not attributes:
        return ()
    inner = getattr(attributes, "_dict", None) if type(attributes) is BoundedAttributes else None
    return (inner if isinstance(inner, dict) else attributes).items()


def py_value(value: Any) -> tuple[str | None, Any]:
    """An SDK attribute value as (ANY_VALUE field, stored value), following the official
    encoder: None is an empty AnyValue, sequences are arrays, mappings kvlists."""
    if value is None:
        return None, None
    obj = _py_obj(value)
    ((camel, inner),) = obj.items()
    if camel == "arrayValue":
        return "array_value", _JSON(inner)
    if camel == "kvlistValue":
        return "kvlist_value", _JSON(inner)
    kind = {
        "stringValue": "string_value",
        "boolValue": "bool_value",
        "intValue": "int_value",
        "doubleValue": "double_value",
        "bytesValue": "bytes_value",
    }[camel]
    return kind, _PY_SCALAR[kind](value)


_PY_SCALAR: dict[str, Callable[[Any], Any]] = {
    "string_value": str,
    "bool_value": bool,
    "int_value": int,
    "double_value": float,
    "bytes_value": bytes,
}


def _py_obj(value: Any) -> dict[str, Any]:
    """OTLP/JSON object of the AnyValue the official encoder makes of a Python value."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, str):
        return {"stringValue": str(value)}
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"integer {value} does not fit in 64 bits")
        return {"intValue": str(int(value))}
    if isinstance(value, float):
        if math.isnan(value):
            return {"doubleValue": "NaN"}
        if math.isinf(value):
            return {"doubleValue": "Infinity" if value > 0 else "-Infinity"}
        return {"doubleValue": float(value)}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Sequence):
        items = [_py_obj(item) for item in value]
        return {"arrayValue": {"values": items} if items else {}}
    if isinstance(value, Mapping):
        pairs = [_py_kv(str(k), v) for k, v in value.items()]
        return {"kvlistValue": {"values": pairs} if pairs else {}}
    raise TypeError(f"invalid type {type(value).__name__} of value {value!r}")


def _py_kv(key: str, value: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key} if key else {}
    obj["value"] = _py_obj(value)
    return obj


_CAMEL = {
    "string_value": "stringValue",
    "bool_value": "boolValue",
    "array_value": "arrayValue",
    "kvlist_value": "kvlistValue",
    _STRINDEX: "stringValueStrindex",
}


class AnyValues:
    """Builds an ``ANY_VALUE`` struct array from OTLP ``AnyValue`` messages, one per slot."""

    def __init__(self) -> None:
        # per slot, the code of the AnyValue field that is set (_CODE; -1: none), as int8
        self.kinds = array("b")
        self.values: list[list[Any]] = [[] for _ in _FIELDS]  # per code, the values in order
        self.appenders = [values.append for values in self.values]
        self.missing: list[int] = []  # slots whose AnyValue message is absent (null struct)

    def add(self, value: Message | None) -> None:
        """Add one slot: an AnyValue, or None where the message field is not set."""
        if value is None:
            self.missing.append(len(self.kinds))
            self.kinds.append(-1)
            return
        kind = value.WhichOneof("value")
        code = _CODE[kind]
        self.kinds.append(code)
        if code >= 0:
            self.appenders[code](getattr(value, kind))

    def add_py(self, value: Any) -> None:
        """Add one slot from a Python value, encoded as the official OTLP encoder does (None is
        an empty AnyValue). Raises ConversionError for a value it cannot encode."""
        code = _PY_CODE.get(type(value))
        if code is None or (code == _INT and not INT64_MIN <= value <= INT64_MAX):
            try:
                kind, value = py_value(value)
            except (TypeError, ValueError) as exc:
                raise ConversionError(f"cannot encode {value!r}: {exc}") from exc
            code = _CODE[kind]
        self.kinds.append(code)
        if code >= 0:
            self.appenders[code](value)

    def build(self) -> pa.StructArray:
        n = len(self.kinds)
        if self.values[_CODE[_STRINDEX]]:
            raise ConversionError(
                "AnyValue.string_value_strindex is set: string table references exist only in "
                "profiles, not in traces, metrics or logs"
            )
        codes_np = np.frombuffer(self.kinds, dtype=np.int8)
        children = []
        for code, field in enumerate(ANY_VALUE):
            values = self.values[code]
            if field.name in _JSON_KINDS and values and not isinstance(values[0], str):
                values = _json_texts(values)  # messages (the SDK front end gives JSON text)
            if not values:
                children.append(pa.nulls(n, field.type))
            elif len(values) == n:
                children.append(pa.array(values, field.type))
            else:
                children.append(_scatter(pa.array(values, field.type), codes_np == code))
        mask = None
        if self.missing:
            mask_np = np.zeros(n, dtype=bool)
            mask_np[self.missing] = True
            mask = pa.array(mask_np)
        return pa.StructArray.from_arrays(children, fields=list(ANY_VALUE), mask=mask)


def _scatter(values: pa.Array, present: np.ndarray) -> pa.Array:
    """An array of ``len(present)`` slots holding ``values`` in order where ``present`` is
    true and null elsewhere. Built on the buffers directly: for fixed-width values a zeroed
    array is filled; for strings and binaries only the offsets are rebuilt, around the data
    buffer as it is. (``take`` with null indices does the same several times slower.)"""
    n = len(present)
    validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    type_ = values.type
    if pa.types.is_boolean(type_):
        data = np.zeros(n, dtype=bool)
        data[present] = values.to_numpy(zero_copy_only=False)
        return pa.Array.from_buffers(
            type_, n, [validity, pa.py_buffer(np.packbits(data, bitorder="little"))]
        )
    if pa.types.is_string(type_) or pa.types.is_binary(type_):
        source = np.frombuffer(
            values.buffers()[1], dtype=np.int32, count=len(values) + 1, offset=values.offset * 4
        )
        lengths = np.zeros(n, dtype=np.int32)
        lengths[present] = np.diff(source)
        offsets = np.empty(n + 1, dtype=np.int32)
        offsets[0] = source[0]
        np.cumsum(lengths, out=offsets[1:])
        offsets[1:] += source[0]
        return pa.Array.from_buffers(
            type_, n, [validity, pa.py_buffer(offsets), values.buffers()[2]]
        )
    data_np = np.zeros(n, dtype=type_.to_pandas_dtype())
    data_np[present] = values.to_numpy(zero_copy_only=False)
    return pa.Array.from_buffers(type_, n, [validity, pa.py_buffer(data_np)])


class Attributes(AnyValues):
    """Builds one ``ATTRIBUTES`` map array, row by row, from ``repeated KeyValue`` fields."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []
        self.offsets: list[int] = [0]
        self.null_rows: list[int] = []
        self.py_cache: dict[str, tuple[int, Any]] = {}  # repr of a tuple -> (code, value)

    def add_row(self, kvs: Iterable[Any]) -> None:
        """Append one row holding the KeyValues ``kvs`` (the hot loop of the converter)."""
        keys_append = self.keys.append
        kinds_append = self.kinds.append
        appenders = self.appenders
        for kv in kvs:
            key = kv.key
            if not key and kv.key_strindex:
                raise ConversionError(
                    "KeyValue.key_strindex is set: string table references exist only in "
                    "profiles, not in traces, metrics or logs"
                )
            keys_append(key)
            value = kv.value
            kind = value.WhichOneof("value")
            code = _CODE[kind]
            kinds_append(code)
            if code >= 0:
                appenders[code](getattr(value, kind))
            elif not kv.HasField("value"):
                self.missing.append(len(self.kinds) - 1)
        self.offsets.append(len(self.keys))

    def add_py_row(self, attributes: Mapping[str, Any] | None) -> None:
        """Append one row from SDK attributes (Python values), encoded exactly as the official
        OTLP encoder encodes them; a value it cannot encode is left out and logged, as there."""
        keys_append = self.keys.append
        kinds_append = self.kinds.append
        appenders = self.appenders
        cache = self.py_cache
        for key, value in _items(attributes):
            code = _PY_CODE.get(type(value))
            if code is None or (code == _INT and not INT64_MIN <= value <= INT64_MAX):
                # repr, not the tuple itself: (True, 2) == (1, 2) == (1.0, 2) in Python
                cache_key = repr(value) if type(value) is tuple else None
                known = cache.get(cache_key) if cache_key is not None else None
                if known is not None:
                    code, value = known
                else:
                    try:
                        kind, value = py_value(value)
                    except (TypeError, ValueError) as exc:
                        log.warning("attribute %r left out: %s", key, exc)
                        continue
                    code = _CODE[kind]
                    if cache_key is not None:
                        cache[cache_key] = (code, value)
            keys_append(key)
            kinds_append(code)
            if code >= 0:
                appenders[code](value)
        self.offsets.append(len(self.keys))

    def add_empty_rows(self, count: int) -> None:
        """Append ``count`` rows without attributes."""
        self.offsets.extend([len(self.keys)] * count)

    def add_null_row(self) -> None:
        self.null_rows.append(len(self.offsets) - 1)
        self.offsets.append(len(self.keys))

    def build(self) -> pa.MapArray:
        if not self.keys and not self.null_rows:  # no attributes in any row
            return pa.MapArray.from_arrays(
                pa.array(self.offsets, pa.int32()), _NO_KEYS, _NO_VALUES, type=ATTRIBUTES
            )
        items = super().build()
        mask = None
        if self.null_rows:
            mask_np = np.zeros(len(self.offsets) - 1, dtype=bool)
            mask_np[self.null_rows] = True
            mask = pa.array(mask_np)
        return pa.MapArray.from_arrays(
            pa.array(self.offsets, pa.int32()),
            pa.array(self.keys, DICT_STRING),
            items,
            type=ATTRIBUTES,
            mask=mask,
        )


_NO_KEYS = pa.array([], DICT_STRING)
_NO_VALUES = pa.array([], ANY_VALUE)


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
    mask = None
    if null_rows:
        mask_np = np.zeros(len(offsets) - 1, dtype=bool)
        mask_np[list(null_rows)] = True
        mask = pa.array(mask_np)
    return pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), values, type=list_type, mask=mask
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


_NO_ENTITY_REFS = pa.array([], ENTITY_REF)


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

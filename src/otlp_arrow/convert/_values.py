"""AnyValue and attribute columns: OTLP ``AnyValue``/``KeyValue`` messages or SDK Python
values in, ``ANY_VALUE`` structs and ``ATTRIBUTES`` maps out (arrays and kvlists as their
OTLP/JSON text, from ``anyvalue_json``).
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
from google.protobuf.message import Message
from opentelemetry.attributes import BoundedAttributes

from otlp_arrow.convert._arrays import null_mask, scatter
from otlp_arrow.convert.anyvalue_json import (
    ENCODE,
    INT64_MAX,
    INT64_MIN,
    NESTED,
    PY_FIELDS,
    STRINDEX,
    messages_json,
    python_field,
)
from otlp_arrow.errors import ConversionError
from otlp_arrow.schema import (
    ANY_VALUE,
    ANY_VALUE_FIELDS,
    ATTRIBUTES,
    DICT_STRING,
)

log = logging.getLogger(__name__)
_FIELDS = (*ANY_VALUE_FIELDS, STRINDEX)
_CODE: dict[str | None, int] = {name: code for code, name in enumerate(_FIELDS)}
_CODE[None] = -1
_INT = _CODE["int_value"]
_PY_CODE: dict[type, int] = {type_: _CODE[field] for type_, field in PY_FIELDS.items()}


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
    encoder: None is an empty AnyValue, sequences are arrays, mappings kvlists (stored as
    their OTLP/JSON text)."""
    kind, item = python_field(value)
    return kind, ENCODE(item) if kind in NESTED else item


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
        if self.values[_CODE[STRINDEX]]:
            raise ConversionError(
                "AnyValue.string_value_strindex is set: string table references exist only in "
                "profiles, not in traces, metrics or logs"
            )
        codes_np = np.frombuffer(self.kinds, dtype=np.int8)
        children = []
        for code, field in enumerate(ANY_VALUE):
            values = self.values[code]
            if field.name in NESTED and values and not isinstance(values[0], str):
                values = messages_json(values)  # messages (the SDK front end gives JSON text)
            if not values:
                children.append(pa.nulls(n, field.type))
            elif len(values) == n:
                children.append(pa.array(values, field.type))
            else:
                children.append(scatter(pa.array(values, field.type), codes_np == code))
        return pa.StructArray.from_arrays(
            children, fields=list(ANY_VALUE), mask=null_mask(n, self.missing)
        )


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
        return pa.MapArray.from_arrays(
            pa.array(self.offsets, pa.int32()),
            pa.array(self.keys, DICT_STRING),
            items,
            type=ATTRIBUTES,
            mask=null_mask(len(self.offsets) - 1, self.null_rows),
        )


# pa.nulls, not pa.array: pa.array imports pandas (175 ms) to check its argument
_NO_KEYS = pa.nulls(0, DICT_STRING)
_NO_VALUES = pa.nulls(0, ANY_VALUE)

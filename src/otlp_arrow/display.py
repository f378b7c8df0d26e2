"""One renderer of stored values, for the CLI and the viewer: stored values as JSON-ready
Python. Bytes, ids or not, are lowercase hex without prefix, as OTLP/JSON writes ids; an
AnyValue is its one set value (arrays and kvlists as lists and objects); a non-finite double
its text."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import Any

from otlp_arrow.schema import ANY_VALUE_FIELDS


def display_bytes(value: bytes | bytearray | memoryview) -> str:
    """Bytes as display text: lowercase hex, no prefix (an empty value is "")."""
    return bytes(value).hex()


def display_any_value(value: Mapping[str, Any] | None) -> Any:
    """A stored AnyValue struct (an ``ANY_VALUE`` row) as its one set value."""
    if value is None:
        return None
    for kind in ANY_VALUE_FIELDS:
        found = value.get(kind)
        if found is None:
            continue
        if kind == "array_value":
            return [_otlp_json(v) for v in json.loads(found).get("values", [])]
        if kind == "kvlist_value":
            return _kvlist(json.loads(found))
        return display_value(found)
    return None


def display_value(value: Any) -> Any:
    """Any stored value as read into Python (pyarrow ``to_pylist()``, DuckDB rows): maps as
    objects, an AnyValue as :func:`display_any_value`, bytes as :func:`display_bytes`."""
    if isinstance(value, bytes | bytearray | memoryview):
        return display_bytes(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        if value.keys() == _ANY_VALUE_KEYS:
            return display_any_value(value)
        return {k: display_value(v) for k, v in value.items()}
    if (
        isinstance(value, list)
        and value
        and all(isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], str) for i in value)
    ):
        return {k: display_value(v) for k, v in value}  # a map, as pyarrow gives it
    if isinstance(value, list | tuple):
        return [display_value(v) for v in value]
    return value


def _otlp_json(value: Mapping[str, Any] | None) -> Any:
    """An OTLP/JSON AnyValue object (inside a stored array or kvlist) as its value."""
    for kind, found in (value or {}).items():
        if kind == "intValue":
            return int(found)
        if kind == "doubleValue":
            return _NON_FINITE.get(found, found)
        if kind == "bytesValue":
            return display_bytes(base64.b64decode(found))
        if kind == "arrayValue":
            return [_otlp_json(v) for v in found.get("values", [])]
        if kind == "kvlistValue":
            return _kvlist(found)
        return found
    return None


def _kvlist(otlp: Mapping[str, Any]) -> dict[str, Any]:
    return {kv.get("key", ""): _otlp_json(kv.get("value")) for kv in otlp.get("values", [])}


_ANY_VALUE_KEYS = set(ANY_VALUE_FIELDS)
_NON_FINITE = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}

"""AnyValue <-> OTLP/JSON objects, both directions, in one place.

Arrays and kvlists are stored as the OTLP/JSON text of their ``ArrayValue`` /
``KeyValueList`` (``schema.ANY_VALUE``). Encoded here from OTLP protobuf messages (exactly
what ``json_format.MessageToDict`` gives, a test checks it, several times faster) or from SDK
Python values (what the official OTLP encoder would send for them), and decoded back to
messages, field by field (``json_format.Parse`` stays the fallback for anything unexpected;
a round-trip property test covers both).

The value rules of the protobuf JSON mapping are written once: int64 as a decimal string,
doubles as numbers except NaN and ±Infinity (strings), bytes as base64.
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from collections.abc import Callable, Mapping, Sequence
from math import isfinite, isnan
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

INT64_MAX: Final = 2**63 - 1
INT64_MIN: Final = -(2**63)
#: The AnyValue fields that hold an ``ArrayValue`` / ``KeyValueList`` (stored as JSON text),
#: and their JSON names.
NESTED: Final = {"array_value": "arrayValue", "kvlist_value": "kvlistValue"}
#: The profiles-only string table reference: meaningless in traces, metrics and logs.
STRINDEX: Final = "string_value_strindex"

ENCODE: Final[Callable[[Any], str]] = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False
).encode


def _special_double(value: float) -> str:
    return "NaN" if isnan(value) else "Infinity" if value > 0 else "-Infinity"


# AnyValue field -> its JSON object, from the field's value (a message's, or a Python value
# already coerced to the field's type by ``python_field``).
_TO_JSON: Final[dict[str, Callable[[Any], dict[str, Any]]]] = {
    "string_value": lambda v: {"stringValue": v},
    "bool_value": lambda v: {"boolValue": v},
    "int_value": lambda v: {"intValue": str(v)},
    "double_value": lambda v: {"doubleValue": v if isfinite(v) else _special_double(v)},
    "bytes_value": lambda v: {"bytesValue": b64encode(v).decode("ascii")},
    "array_value": lambda v: {"arrayValue": values_obj(v)},
    "kvlist_value": lambda v: {"kvlistValue": values_obj(v)},
    STRINDEX: lambda v: {"stringValueStrindex": v},
}

# JSON name -> (AnyValue field, its value from the JSON value; None: the value as it is):
# the inverse of ``_TO_JSON`` for the scalar fields.
_FROM_JSON: Final[dict[str, tuple[str, Callable[[Any], Any] | None]]] = {
    "stringValue": ("string_value", None),
    "boolValue": ("bool_value", None),
    "intValue": ("int_value", int),
    "doubleValue": ("double_value", float),  # float also reads "NaN", "Infinity", "-Infinity"
    "bytesValue": ("bytes_value", b64decode),
}

#: The AnyValue field of a Python value of exactly this type (no coercion needed; ints still
#: have to fit in 64 bits). Any other value goes through ``python_field``.
PY_FIELDS: Final[dict[type, str]] = {
    str: "string_value",
    bool: "bool_value",
    int: "int_value",
    float: "double_value",
    bytes: "bytes_value",
}


# ---- OTLP protobuf messages -> JSON ----


def any_value_json(message: Message) -> str:
    """OTLP/JSON text of an ``ArrayValue`` or ``KeyValueList``: exactly what
    ``json_format.MessageToDict`` gives (a test checks it), compact, several times faster."""
    return ENCODE(values_obj(message))


def messages_json(messages: list[Any]) -> list[str]:
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


def values_obj(message: Any) -> dict[str, Any]:
    """``ArrayValue`` / ``KeyValueList`` as a JSON object (an empty list is omitted)."""
    values = message.values
    if not values:
        return {}
    if isinstance(message, KeyValueList):
        return {"values": [_kv_obj(kv) for kv in values]}
    to_json = _TO_JSON  # each AnyValue's JSON object, inline: this is the hot loop
    return {
        "values": [
            to_json[kind](getattr(value, kind)) if (kind := value.WhichOneof("value")) else {}
            for value in values
        ]
    }


def _kv_obj(kv: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if kv.key:
        obj["key"] = kv.key
    if kv.HasField("value"):
        value = kv.value  # its JSON object, inline as in values_obj
        kind = value.WhichOneof("value")
        obj["value"] = _TO_JSON[kind](getattr(value, kind)) if kind else {}
    if kv.key_strindex:
        obj["keyStrindex"] = kv.key_strindex
    return obj


# ---- SDK Python values -> JSON ----


def python_field(value: Any) -> tuple[str | None, Any]:
    """An SDK attribute value as (AnyValue field, the value as that field holds it; for arrays
    and kvlists their JSON object), as the official encoder maps it: None is an empty
    AnyValue, other sequences are arrays, mappings kvlists. Raises TypeError or ValueError
    for a value it cannot encode."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return "bool_value", value
    if isinstance(value, str):
        return "string_value", str(value)
    if isinstance(value, int):
        return "int_value", int(_fits_int64(value))
    if isinstance(value, float):
        return "double_value", float(value)
    if isinstance(value, bytes):
        return "bytes_value", bytes(value)
    if isinstance(value, Sequence):
        items = [python_obj(item) for item in value]
        return "array_value", {"values": items} if items else {}
    if isinstance(value, Mapping):
        pairs = [_python_kv(str(k), v) for k, v in value.items()]
        return "kvlist_value", {"values": pairs} if pairs else {}
    raise TypeError(f"invalid type {type(value).__name__} of value {value!r}")


def python_obj(value: Any) -> dict[str, Any]:
    """JSON object of the AnyValue the official encoder makes of a Python value."""
    encode = _PY_TO_JSON.get(type(value))
    if encode is not None:
        return encode(value)
    kind, value = python_field(value)
    if kind is None:
        return {}
    return {NESTED[kind]: value} if kind in NESTED else _TO_JSON[kind](value)


def _fits_int64(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"integer {value} does not fit in 64 bits")
    return value


# By exact type, the JSON object of a Python value that needs no coercion (ints still have to
# fit in 64 bits): the fast path of ``python_obj``.
_PY_TO_JSON: Final[dict[type, Callable[[Any], dict[str, Any]]]] = {
    **{type_: _TO_JSON[field] for type_, field in PY_FIELDS.items()},
    int: lambda v: _TO_JSON["int_value"](_fits_int64(v)),
}


def _python_kv(key: str, value: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key} if key else {}
    obj["value"] = python_obj(value)
    return obj


# ---- JSON -> OTLP protobuf messages ----


def stored_value(value: dict[str, Any]) -> AnyValue:
    """The AnyValue of a stored ``ANY_VALUE`` struct, as ``{field: value}`` with None for
    the fields not set: arrays and kvlists decoded from their OTLP/JSON text."""
    for name, item in value.items():
        if item is None:
            continue
        if name == "array_value":
            return AnyValue(array_value=ArrayValue(values=json_values(json.loads(item))))
        if name == "kvlist_value":
            return AnyValue(kvlist_value=KeyValueList(values=json_kvs(json.loads(item))))
        return AnyValue(**{name: item})
    return AnyValue()


def json_values(obj: dict[str, Any]) -> list[AnyValue]:
    """The values of an ``ArrayValue`` JSON object."""
    return [json_any(item) for item in obj.get("values", ())]


def json_kvs(obj: dict[str, Any]) -> list[KeyValue]:
    """The KeyValues of a ``KeyValueList`` JSON object."""
    out = []
    for item in obj.get("values", ()):
        kv = KeyValue(key=item.get("key", ""), key_strindex=item.get("keyStrindex", 0))
        if "value" in item:
            kv.value.CopyFrom(json_any(item["value"]))
        out.append(kv)
    return out


def json_any(obj: dict[str, Any]) -> AnyValue:
    """An AnyValue JSON object as the message."""
    if len(obj) == 1:
        ((name, item),) = obj.items()
        scalar = _FROM_JSON.get(name)
        if scalar is not None:
            field, from_json = scalar
            value = AnyValue()  # then set: faster than keyword arguments
            setattr(value, field, item if from_json is None else from_json(item))
            return value
        if name == "arrayValue":
            return AnyValue(array_value=ArrayValue(values=json_values(item)))
        if name == "kvlistValue":
            return AnyValue(kvlist_value=KeyValueList(values=json_kvs(item)))
    return json_format.ParseDict(obj, AnyValue()) if obj else AnyValue()

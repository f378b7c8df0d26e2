"""OTLP/JSON <-> protobuf messages (pure): request bodies in (the receiver), out (the
forwarder).

``json_format`` already follows the proto3 JSON mapping that OTLP/JSON uses (lowerCamelCase
names, enums as numbers or names, 64-bit integers as strings or numbers). The one OTLP rule it
does not know: trace and span ids are hex, not base64. They are rewritten before parsing.
Unknown fields are ignored, as the specification asks; an enum given by a name it does not
know (``"kind": "SPAN_KIND_NOPE"``) is refused naming the field, not read as 0. Bodies nested
deeper than :data:`MAX_JSON_DEPTH` arrays and objects are refused before parsing (protobuf also
refuses messages nested deeper than 100, in both encodings), so no input reaches a recursion
limit.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
#: arrays and objects an OTLP/JSON body may nest (a kvlist value inside a kvlist takes 4)
MAX_JSON_DEPTH = 200
M = TypeVar("M", bound=Message)
#: what a ``bytes`` field may hold: base64 in the standard or URL-safe alphabet, padded
#: correctly or not at all (``base64.b64decode`` alone would skip unknown characters and
#: anything after the padding, storing bytes the sender never meant)
_BASE64 = re.compile(r"(?:[\w+/-]{4})*(?:[\w+/-]{2}(?:==)?|[\w+/-]{3}=?)?", re.ASCII)


def parse(body: bytes, message_type: type[M]) -> M:
    """Parse an OTLP/JSON body into ``message_type``; ValueError says what is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None
    except RecursionError:  # nested far beyond the limit: the decoder gave up
        raise ValueError(f"body nested deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    _prepare(data, message_type.DESCRIPTOR, "", 1)
    try:
        return json_format.ParseDict(data, message_type(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise ValueError(str(exc)) from None


def _prepare(node: Any, descriptor: Any, path: str, depth: int) -> None:
    """Check depth and enum names, rewrite hex ids as base64, in place. ``descriptor`` is the
    message type of ``node`` where known (None under unknown fields and Struct-like values)."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"body nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(node, list):
        for i, item in enumerate(node):
            _prepare(item, descriptor, f"{path}[{i}]", depth + 1)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        where = f"{path}.{key}" if path else key
        field = _field(descriptor, key)
        if key in _ID_FIELDS and isinstance(value, str):
            try:
                node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            except ValueError:
                raise ValueError(f"{where}: {value!r} is not a hex id") from None
        elif field is not None and field.enum_type is not None:
            _check_enum(field.enum_type, value, where)
        elif field is not None and field.type == field.TYPE_BYTES and isinstance(value, str):
            if not _BASE64.fullmatch(value):
                raise ValueError(
                    f"{where}: {value!r} is not base64 (the standard or URL-safe alphabet, "
                    "padded with '=' or not at all)"
                )
        else:
            inner = field.message_type if field is not None else None
            _prepare(value, inner, where, depth + 1)


def _field(descriptor: Descriptor | None, key: str) -> FieldDescriptor | None:
    if descriptor is None:
        return None
    field: FieldDescriptor | None = descriptor.fields_by_camelcase_name.get(key)
    return field if field is not None else descriptor.fields_by_name.get(key)


def _check_enum(enum: EnumDescriptor, value: Any, where: str) -> None:
    names = enum.values_by_name
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and item not in names:
            raise ValueError(
                f"{where}: {item!r} is not a {enum.name} (expected a number or one of "
                f"{', '.join(names)})"
            )


def encode_response(message: Message) -> bytes:
    """A response message (``Export...ServiceResponse``) as OTLP/JSON."""
    return json_format.MessageToJson(message, indent=None).encode()


def encode_request(message: Message) -> bytes:
    """An OTLP request as OTLP/JSON: proto3 JSON mapping, enums as numbers, ids as hex."""
    data = json_format.MessageToDict(message, use_integers_for_enums=True)
    _base64_ids_to_hex(data)
    return json.dumps(data, separators=(",", ":")).encode()


def _base64_ids_to_hex(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _base64_ids_to_hex(value)
    elif isinstance(node, list):
        for item in node:
            _base64_ids_to_hex(item)

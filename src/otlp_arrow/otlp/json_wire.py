"""OTLP/JSON <-> protobuf messages (pure): request bodies in (the receiver), out (the
forwarder).

``json_format`` already follows the proto3 JSON mapping that OTLP/JSON uses (lowerCamelCase
names, enums as numbers or names, 64-bit integers as strings or numbers). The one OTLP rule it
does not know: trace and span ids are hex, not base64. They are rewritten before parsing.
Unknown fields are ignored, as the specification asks.
"""

from __future__ import annotations

import base64
import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
M = TypeVar("M", bound=Message)


def parse(body: bytes, message_type: type[M]) -> M:
    """Parse an OTLP/JSON body into ``message_type``; ValueError says what is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    _hex_ids_to_base64(data, "")
    try:
        return json_format.ParseDict(data, message_type(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise ValueError(str(exc)) from None


def _hex_ids_to_base64(node: Any, path: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else key
            if key in _ID_FIELDS and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
                except ValueError:
                    raise ValueError(f"{where}: {value!r} is not a hex id") from None
            else:
                _hex_ids_to_base64(value, where)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _hex_ids_to_base64(item, f"{path}[{i}]")


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

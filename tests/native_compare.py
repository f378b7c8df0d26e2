"""Differential checks of the native core against the reference route (upb ``FromString`` +
the Python converter), and random mutations of serialized requests.

Run as a script for the mutation loop (a crash then fails the test that starts it instead of
killing pytest): ``python -m tests.native_compare SEED COUNT``.
"""

from __future__ import annotations

import contextlib
import random
import struct
import sys
from typing import Any

import pyarrow as pa
from google.protobuf.message import DecodeError

from otlp_arrow.convert import convert_request
from otlp_arrow.convert.native import REQUEST_TYPES, convert_bytes
from otlp_arrow.errors import ConversionError

REFUSED = "refused"


def reference(data: bytes, signal: str, strict: bool) -> Any:
    """What upb + the Python converter make of ``data``."""
    try:
        request = REQUEST_TYPES[signal].FromString(data)
    except DecodeError:
        return REFUSED
    try:
        return convert_request(request, strict=strict)
    except ConversionError as exc:
        return ("error", str(exc))


def native(data: bytes, signal: str, strict: bool) -> Any:
    """What the native route makes of ``data``."""
    try:
        return convert_bytes(data, signal, strict=strict)
    except ConversionError as exc:
        if str(exc).startswith(f"invalid OTLP protobuf {signal} request"):
            return REFUSED
        return ("error", str(exc))


def difference(data: bytes, signal: str, strict: bool) -> str | None:
    """None when both routes agree on ``data``, else what differs."""
    return outcome_difference(reference(data, signal, strict), native(data, signal, strict))


def outcome_difference(expected: Any, got: Any) -> str | None:
    """None when two outcomes (a ``Converted``, or a refusal as a str / tuple) agree, else
    what differs: the same refusal, or the same schema, columns and partial-success counts."""
    if isinstance(expected, str | tuple) or isinstance(got, str | tuple):
        return None if expected == got else f"reference {expected!r}, native {got!r}"
    got.batch.validate(full=True)
    if not got.batch.schema.equals(expected.batch.schema, check_metadata=True):
        return f"schema {got.batch.schema} != {expected.batch.schema}"
    for name in expected.batch.schema.names:
        if not same_array(got.batch.column(name), expected.batch.column(name)):
            return f"column {name} differs"
    if (got.rejected, got.error) != (expected.rejected, expected.error):
        return f"rejected/error {got.rejected, got.error} != {expected.rejected, expected.error}"
    return None


def same_array(a: pa.Array, b: pa.Array) -> bool:
    """``a.equals(b)``, except that a NaN equals a NaN of the same bits (doubles are kept bit
    for bit); dictionaries (nested ones too) must be identical."""
    if a.equals(b):
        return True
    if a.type != b.type or len(a) != len(b):
        return False
    return _bits(a.to_pylist()) == _bits(b.to_pylist()) and _dicts(a) == _dicts(b)


def _bits(value: Any) -> Any:
    if isinstance(value, float):
        return struct.pack("<d", value)
    if isinstance(value, list):
        return [_bits(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_bits(v) for v in value)
    if isinstance(value, dict):
        return {k: _bits(v) for k, v in value.items()}
    return value


def _dicts(array: pa.Array) -> list[Any]:
    """The dictionaries of every dictionary-encoded array inside ``array``."""
    if isinstance(array, pa.DictionaryArray):
        return [array.dictionary.to_pylist()]
    if isinstance(array, pa.MapArray):
        return _dicts(array.keys) + _dicts(array.items)
    if isinstance(array, pa.ListArray):
        return _dicts(array.flatten())
    if isinstance(array, pa.StructArray):
        return [d for i in range(array.type.num_fields) for d in _dicts(array.field(i))]
    return []


# --- a small wire-format tree, to mutate requests structurally -------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if byte < 0x80:
            return value, pos


Field = tuple[int, int, Any]  # (number, wire type, payload: bytes, int or list of Field)


def parse_tree(data: bytes, depth: int = 0) -> list[Field]:
    """``data`` as fields; length-delimited payloads that parse as messages become lists."""
    fields: list[Field] = []
    pos = 0
    while pos < len(data):
        tag, pos = _read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("field 0")
        if wire_type == 0:
            value, pos = _read_varint(data, pos)
            fields.append((number, 0, value))
        elif wire_type in (1, 5):
            size = 8 if wire_type == 1 else 4
            if pos + size > len(data):
                raise ValueError("truncated")
            fields.append((number, wire_type, data[pos : pos + size]))
            pos += size
        elif wire_type == 2:
            size, pos = _read_varint(data, pos)
            if pos + size > len(data):
                raise ValueError("truncated")
            payload: Any = data[pos : pos + size]
            pos += size
            if payload and depth < 60:
                with contextlib.suppress(ValueError):
                    payload = parse_tree(payload, depth + 1)
            fields.append((number, 2, payload))
        else:
            raise ValueError("group")
    return fields


def serialize_tree(fields: list[Field]) -> bytes:
    out = bytearray()
    for number, wire_type, payload in fields:
        out += _varint(number << 3 | wire_type)
        if wire_type == 0:
            out += _varint(payload)
        elif wire_type == 2:
            body = serialize_tree(payload) if isinstance(payload, list) else payload
            out += _varint(len(body)) + body
        else:
            out += payload
    return bytes(out)


def _messages(fields: list[Field]) -> list[list[Field]]:
    """Every message (field list) of the tree."""
    found = [fields]
    for _, _, payload in fields:
        if isinstance(payload, list):
            found.extend(_messages(payload))
    return found


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random mutation of ``data``: bytes flipped, cut, inserted; a length changed; a
    field duplicated, dropped, retyped or moved."""
    kind = rng.randrange(8)
    if kind == 0 and data:
        pos = rng.randrange(len(data))
        return data[:pos] + bytes([data[pos] ^ (1 << rng.randrange(8))]) + data[pos + 1 :]
    if kind == 1 and data:
        return data[: rng.randrange(len(data))]
    if kind == 2:
        pos = rng.randrange(len(data) + 1)
        return data[:pos] + rng.randbytes(rng.randint(1, 4)) + data[pos:]
    try:
        tree = parse_tree(data)
    except ValueError:
        return data + rng.randbytes(2)
    message = rng.choice(_messages(tree))
    if not message:
        return serialize_tree(tree) + b"\x08\x01"
    i = rng.randrange(len(message))
    number, wire_type, payload = message[i]
    if kind == 3:  # change a length prefix (the payload stays)
        body = serialize_tree([message[i]])
        head = _varint(number << 3 | wire_type)
        if wire_type == 2:
            size = len(body) - len(head) - len(_varint(len(body) - len(head)))
            raw = serialize_tree(payload) if isinstance(payload, list) else payload
            new = max(0, size + rng.choice((-3, -1, 1, 2, 1000)))
            message[i] = (number, 9, head + _varint(new) + raw)  # 9: raw bytes, see below
    elif kind == 4:
        message.insert(i, message[i])
    elif kind == 5:
        del message[i]
    elif kind == 6:  # the same field number with another wire type
        other = rng.choice([w for w in (0, 1, 2, 5) if w != wire_type])
        message[i] = (number, other, {0: 1, 1: b"\0" * 8, 2: b"x", 5: b"\0" * 4}[other])
    else:
        message.insert(rng.randrange(len(message) + 1), message.pop(i))
    return _serialize_raw(tree)


def _serialize_raw(fields: list[Field]) -> bytes:
    """Like serialize_tree, with wire type 9 meaning: payload is the field's raw bytes."""
    out = bytearray()
    for field in fields:
        number, wire_type, payload = field
        if wire_type == 9:
            out += payload
        elif wire_type == 2 and isinstance(payload, list):
            body = _serialize_raw(payload)
            out += _varint(number << 3 | 2) + _varint(len(body)) + body
        else:
            out += serialize_tree([field])
    return bytes(out)


def mutation_loop(seed: int, count: int, signals: list[str]) -> list[str]:
    """Compare both routes on ``count`` mutated requests per signal; the differences."""
    from tests import sample as _sample

    t0 = 1_764_000_000 * 10**9
    samples = {
        "traces": [_sample.traces(n, start_ns=t0, seed=n).SerializeToString() for n in (1, 5)],
        "logs": [_sample.logs(n, start_ns=t0, seed=n).SerializeToString() for n in (1, 5)],
        "metrics": [_sample.metrics(n, time_ns=t0, seed=n).SerializeToString() for n in (1, 3)],
    }
    rng = random.Random(seed)
    failures = []
    for signal in signals:
        for _ in range(count):
            data = rng.choice(samples[signal])
            for _ in range(rng.randint(1, 3)):
                data = mutate(data, rng)
            for strict in (True, False):
                problem = difference(data, signal, strict)
                if problem:
                    failures.append(f"{signal} strict={strict} {data.hex()}: {problem}")
    return failures


if __name__ == "__main__":
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    found = mutation_loop(seed, count, sys.argv[3].split(","))
    for line in found[:20]:
        print(line)  # noqa: T201
    print(f"{len(found)} difference(s)")  # noqa: T201
    sys.exit(1 if found else 0)

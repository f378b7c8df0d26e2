"""The native core (``otlp_arrow._native``) against the reference route: upb ``FromString``
then the Python converter. Same tables (schema, metadata, values, dictionaries), same
rejections, same acceptance of odd but valid wire input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otlp_arrow.convert.native import NATIVE_SIGNALS, uses_native
from tests.native_compare import REFUSED, difference, native, reference
from tests.otlp_strategies import REQUESTS

ROOT = Path(__file__).resolve().parents[2]
SIGNALS = ("traces", "logs", "metrics")


def _native_or_skip(signal: str) -> None:
    if signal not in NATIVE_SIGNALS:
        pytest.skip(f"{signal} are not decoded natively yet")


def test_the_native_core_is_built_and_used() -> None:
    # a build that silently fell back to Python would make every comparison below trivial
    assert uses_native("traces"), "otlp_arrow._native is missing: run pip install -e ."


def _break_items(request: Any, signal: str, data: st.DataObject) -> Any:
    """Make some items unstorable (ids of the wrong length, times beyond int64), so that the
    strict and partial modes have something to refuse."""
    items = {
        "traces": lambda r: [
            s for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans
        ],
        "logs": lambda r: [
            x for rl in r.resource_logs for sl in rl.scope_logs for x in sl.log_records
        ],
        "metrics": lambda r: [
            p
            for rm in r.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if m.WhichOneof("data")
            for p in getattr(m, m.WhichOneof("data")).data_points
        ],
    }[signal](request)
    for item in items:
        what = data.draw(st.sampled_from(["keep", "keep", "id", "time", "nested"]))
        if what == "id" and signal == "metrics":
            if hasattr(item, "exemplars"):
                item.exemplars.add(span_id=data.draw(st.sampled_from([b"x", b"y" * 9])))
        elif what == "id":
            item.span_id = data.draw(st.sampled_from([b"", b"x", b"y" * 9]))
        elif what == "time":
            field = "start_time_unix_nano" if signal == "traces" else "time_unix_nano"
            setattr(item, field, 2**63 + data.draw(st.integers(0, 10)))
        elif what == "nested" and signal == "traces":
            item.events.add(time_unix_nano=2**64 - 1)
            item.links.add(trace_id=b"short", span_id=b"")
        elif what == "nested" and hasattr(item, "exemplars"):
            item.exemplars.add(time_unix_nano=2**64 - 1, trace_id=b"t")
    return request


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("strict", [True, False])
@settings(max_examples=40)
@given(data=st.data())
def test_native_tables_equal_the_python_converters(
    signal: str, strict: bool, data: st.DataObject
) -> None:
    _native_or_skip(signal)
    request = data.draw(REQUESTS[signal])
    if data.draw(st.booleans()):
        request = _break_items(request, signal, data)
    problem = difference(request.SerializeToString(), signal, strict)
    assert problem is None, problem


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _ld(field: int, body: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(body)) + body


def _request(span: bytes, resource: bytes = b"", scope: bytes = b"") -> bytes:
    """An ExportTraceServiceRequest holding one span (raw Span fields)."""
    scope_spans = (_ld(1, scope) if scope else b"") + _ld(2, span)
    return _ld(1, (_ld(1, resource) if resource else b"") + _ld(2, scope_spans))


IDS = _ld(1, b"t" * 16) + _ld(2, b"s" * 8)
KV = _ld(1, b"k") + _ld(2, b"\x18\x05")  # key "k", int_value 5
ARRAY = _ld(5, _ld(1, b"\x18\x01"))  # array_value [int 1]

ODD_BUT_VALID = {
    "unknown fields": IDS + _ld(99, b"\xff\xfe") + _varint(100 << 3) + b"\x01",
    "unknown group": IDS + _varint(50 << 3 | 3) + b"\x08\x01" + _varint(50 << 3 | 4),
    "known field, other wire type": IDS + _varint(5 << 3) + b"\x07",
    "last scalar wins": IDS + _ld(5, b"a") + _ld(5, b"b") + b"\x30\x02\x30\x03",
    "status merged": IDS + _ld(15, b"\x18\x02") + _ld(15, _ld(2, b"m")),
    "kind beyond the enum": IDS + b"\x30" + _varint(2**64 - 1),
    "kind over 32 bits": IDS + b"\x30" + _varint(2**32 + 3),
    "non-canonical tag": IDS + b"\xb0\x80\x80\x80\x00\x02",
    "value merged": IDS + _ld(9, _ld(1, b"k") + _ld(2, ARRAY) + _ld(2, ARRAY)),
    "oneof switched": IDS + _ld(9, _ld(1, b"k") + _ld(2, ARRAY + b"\x18\x07")),
    "empty kv": IDS + _ld(9, b""),
    "kv without value": IDS + _ld(9, _ld(1, b"k")),
    "interleaved repeated": IDS + _ld(9, KV) + _ld(11, b"") + _ld(9, KV),
    "resource twice": (IDS, _ld(1, KV) + b"\x10\x01", b""),
    "scope twice": (IDS, b"", _ld(1, b"n") + _ld(1, b"m") + _ld(3, KV)),
    "zero-length packed": IDS + _ld(16, b""),
}
REFUSED_INPUT = {
    "truncated length": IDS + b"\x2a\x05ab",
    "invalid UTF-8 name": IDS + _ld(5, b"\xff"),
    "invalid UTF-8 in an array": IDS + _ld(9, _ld(2, _ld(5, _ld(1, _ld(1, b"\xc0"))))),
    "field 0": IDS + b"\x00\x01",
    "wire type 7": IDS + b"\x0f",
    "unterminated group": IDS + _varint(50 << 3 | 3),
    "stray end group": IDS + _varint(50 << 3 | 4),
    "11-byte varint": IDS + b"\x30" + b"\xff" * 10 + b"\x01",
    "6-byte length": IDS + b"\x2a\x81\x80\x80\x80\x80\x00a",
    "tag over 32 bits": IDS + b"\xb0\x80\x80\x80\x10\x01",
}


def _deep(levels: int) -> bytes:
    value = b"\x18\x01"
    for _ in range(levels):
        value = _ld(5, _ld(1, value))
    return IDS + _ld(9, _ld(1, b"k") + _ld(2, value))


@pytest.mark.parametrize("name", sorted(ODD_BUT_VALID) + sorted(REFUSED_INPUT))
@pytest.mark.parametrize("strict", [True, False])
def test_odd_wire_input_is_taken_as_upb_takes_it(name: str, strict: bool) -> None:
    case = ODD_BUT_VALID.get(name, REFUSED_INPUT.get(name))
    data = _request(*case) if isinstance(case, tuple) else _request(case)
    expected = reference(data, "traces", strict)
    assert (expected == REFUSED) == (name in REFUSED_INPUT)
    assert difference(data, "traces", strict) is None


@pytest.mark.parametrize("levels", [40, 47, 48, 5000])
def test_nesting_beyond_the_limit_is_refused_like_upb(levels: int) -> None:
    data = _request(_deep(levels))
    assert difference(data, "traces", True) is None
    if levels >= 48:
        assert native(data, "traces", True) == REFUSED


def test_refusals_name_the_field() -> None:
    from otlp_arrow.convert.native import convert_bytes
    from otlp_arrow.errors import ConversionError

    with pytest.raises(ConversionError, match=r"spans\[0\]\.name: string field is not valid"):
        convert_bytes(_request(REFUSED_INPUT["invalid UTF-8 name"]), "traces")
    with pytest.raises(ConversionError, match="nested deeper than 100"):
        convert_bytes(_request(_deep(200)), "traces")


@pytest.mark.slow
def test_random_mutations_agree_with_upb_in_a_subprocess() -> None:
    signals = ",".join(sorted(NATIVE_SIGNALS))
    result = subprocess.run(
        [sys.executable, "-m", "tests.native_compare", "20261201", "400", signals],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("0 difference(s)")


def test_otlp_arrow_native_0_takes_the_python_route() -> None:
    code = (
        "from otlp_arrow import otlp_to_arrow\n"
        "from tests import sample as _sample\n"
        "from otlp_arrow.convert.native import uses_native, native_status\n"
        "r = _sample.traces(3, start_ns=10**18)\n"
        "assert not uses_native('traces')\n"
        "assert otlp_to_arrow(r.SerializeToString(), 'traces').equals(otlp_to_arrow(r))\n"
        "print(native_status())\n"
    )
    env = {**os.environ, "OTLP_ARROW_NATIVE": "0"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "native core: off (disabled by OTLP_ARROW_NATIVE=0)" in result.stdout
    assert result.stderr.count("native core not used") == 1


@pytest.mark.parametrize("signal", SIGNALS)
def test_otlp_to_arrow_takes_serialized_requests(signal: str) -> None:
    from otlp_arrow import otlp_to_arrow
    from otlp_arrow.otlp import json_wire
    from tests import sample as _sample

    t0 = 1_764_000_000 * 10**9
    request = {
        "traces": lambda: _sample.traces(20, start_ns=t0),
        "logs": lambda: _sample.logs(20, start_ns=t0),
        "metrics": lambda: _sample.metrics(20, time_ns=t0),
    }[signal]()
    expected = otlp_to_arrow(request)
    wire = request.SerializeToString()
    for data in (wire, bytearray(wire), memoryview(wire)):
        assert otlp_to_arrow(data, signal=signal).equals(expected, check_metadata=True)
    text = json_wire.encode_request(request)
    assert otlp_to_arrow(text, signal, format="json").equals(expected, check_metadata=True)
    assert otlp_to_arrow(text.decode(), signal, format="json").equals(expected)
    assert otlp_to_arrow(request, signal).equals(expected)


def test_otlp_to_arrow_says_what_is_wrong_with_serialized_input() -> None:
    from otlp_arrow import ConversionError, InputTypeError, otlp_to_arrow
    from otlp_arrow.convert import convert_bytes, convert_json
    from tests import sample as _sample

    wire = _sample.traces(2, start_ns=10**18).SerializeToString()
    with pytest.raises(ConversionError, match="signal is required"):
        otlp_to_arrow(wire)
    with pytest.raises(ConversionError, match="unknown format 'xml'"):
        otlp_to_arrow(wire, "traces", format="xml")
    with pytest.raises(ConversionError, match="unknown signal 'profiles'"):
        otlp_to_arrow(wire, "profiles")
    with pytest.raises(InputTypeError, match=r"got builtins\.str"):
        otlp_to_arrow("text", "traces")
    with pytest.raises(InputTypeError, match="does not match"):
        otlp_to_arrow(_sample.traces(1, start_ns=10**18), "logs")
    with pytest.raises(ConversionError, match="invalid OTLP protobuf traces request"):
        otlp_to_arrow(b"\xff\xff", "traces")
    with pytest.raises(ConversionError, match="invalid OTLP protobuf metrics request"):
        otlp_to_arrow(b"\xff\xff", "metrics")
    with pytest.raises(ConversionError, match="invalid OTLP/JSON logs request"):
        otlp_to_arrow(b"[1]", "logs", format="json")
    with pytest.raises(InputTypeError, match="expected bytes"):
        convert_bytes(12, "traces")
    with pytest.raises(InputTypeError, match="expected str, bytes"):
        convert_json(12, "traces")


def _fixed64(field: int, value: int) -> bytes:
    return _varint(field << 3 | 1) + value.to_bytes(8, "little")


POINT = _fixed64(3, 10**18) + _fixed64(6, 7)  # time, as_int 7
POINT2 = _fixed64(3, 2 * 10**18) + _fixed64(4, 0x3FF0000000000000)  # as_double 1.0
BUCKETS = _ld(8, b"\x08\x02" + _ld(2, b"\x01\x02")) + _ld(8, b"\x10\x03")
METRIC_CASES = {
    "gauge then sum": _ld(5, _ld(1, POINT)) + _ld(7, _ld(1, POINT2) + b"\x10\x02"),
    "gauge twice, merged": _ld(5, _ld(1, POINT)) + _ld(5, _ld(1, POINT2)),
    "gauge, sum, gauge": _ld(5, _ld(1, POINT)) + _ld(7, _ld(1, POINT)) + _ld(5, _ld(1, POINT2)),
    "sum fields in later chunks": _ld(7, _ld(1, POINT)) + _ld(7, b"\x10\x01") + _ld(7, b"\x18\x05"),
    "no data": _ld(1, b"m"),
    "no points": _ld(9, b"\x10\x01"),
    "value oneof, last wins": _ld(5, _ld(1, POINT + POINT2)),
    "buckets merged": _ld(10, _ld(1, BUCKETS + _fixed64(4, 3))),
    "optional sum present at 0": _ld(9, _ld(1, _fixed64(5, 0) + _ld(6, b"") + _fixed64(6, 1))),
    "summary with quantiles": _ld(11, _ld(1, _ld(6, _fixed64(1, 0)) + _ld(6, b""))),
    "bad UTF-8 in a replaced member": _ld(5, _ld(1, _ld(7, _ld(1, b"\xff")))) + _ld(7, b""),
    "metadata after data": _ld(5, _ld(1, POINT)) + _ld(12, KV) + _ld(1, b"late name"),
}


@pytest.mark.parametrize("name", sorted(METRIC_CASES))
@pytest.mark.parametrize("strict", [True, False])
def test_metric_wire_cases_are_taken_as_upb_takes_them(name: str, strict: bool) -> None:
    _native_or_skip("metrics")
    data = _ld(1, _ld(2, _ld(2, _ld(1, b"m") + METRIC_CASES[name])))
    expected = reference(data, "metrics", strict)
    assert (expected == REFUSED) == name.startswith("bad")
    assert difference(data, "metrics", strict) is None

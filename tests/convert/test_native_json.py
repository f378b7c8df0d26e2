"""OTLP/JSON through the native core against the reference route (``json_wire.parse``, then
the Python converter): same tables, same acceptance, same refusals.

Run as a script for the mutation loop (a crash then fails the test that starts it):
``python -m tests.convert.test_native_json SEED COUNT``.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otlp_arrow.convert import native as bridge
from otlp_arrow.convert.native import convert_json, convert_json_python
from otlp_arrow.errors import ConversionError
from otlp_arrow.otlp import json_wire
from tests.convert.test_native import _break_items
from tests.native_compare import outcome_difference
from tests.otlp_strategies import REQUESTS

# the fallback run of `make test` (OTLP_ARROW_NATIVE=0) has only one route to compare
pytestmark = pytest.mark.skipif(
    os.environ.get("OTLP_ARROW_NATIVE", "").strip() == "0", reason="native core disabled"
)
ROOT = Path(__file__).resolve().parents[2]
SIGNALS = ("traces", "logs", "metrics")
REFUSED = "refused"


def _outcome(route: Any, text: bytes, signal: str, strict: bool) -> Any:
    try:
        return route(text, signal, strict=strict)
    except ConversionError as exc:
        return (REFUSED, str(exc))
    except Exception as exc:  # any other exception: a difference to report
        return ("exception", repr(exc))


def difference(text: bytes, signal: str, strict: bool) -> str | None:
    """None when the native and the reference route agree on ``text``, else what differs."""
    return outcome_difference(
        _outcome(convert_json_python, text, signal, strict),
        _outcome(convert_json, text, signal, strict),
    )


def decided_natively(text: bytes, signal: str) -> bool:
    """True when the native core decodes ``text`` itself (no hand-over to the reference)."""
    assert bridge._NATIVE is not None
    return bridge._NATIVE.decode_json(signal, text) is not None


def test_the_native_json_path_is_built_and_used() -> None:
    assert bridge.uses_native("traces"), "otlp_arrow._native is missing: run pip install -e ."
    assert hasattr(bridge._NATIVE, "decode_json")


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("strict", [True, False])
@settings(max_examples=40)
@given(data=st.data())
def test_native_json_tables_equal_the_reference(
    signal: str, strict: bool, data: st.DataObject
) -> None:
    request = data.draw(REQUESTS[signal])
    if data.draw(st.booleans()):
        request = _break_items(request, signal, data)
    text = json_wire.encode_request(request)
    problem = difference(text, signal, strict)
    assert problem is None, problem
    # what the project's own encoder writes is decided natively, unless the reference refuses
    # the whole request (string-table references are refused whatever the mode)
    reference = _outcome(convert_json_python, text, signal, False)
    assert decided_natively(text, signal) or isinstance(reference, tuple)


def _spans(**span: Any) -> dict[str, Any]:
    base = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331"}
    return {"resourceSpans": [{"scopeSpans": [{"spans": [{**base, **span}]}]}]}


def _attr(value: dict[str, Any]) -> dict[str, Any]:
    return _spans(name="s", attributes=[{"key": "k", "value": value}])


def _deep_kvlist(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"intValue": "1"}
    for _ in range(levels):
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    return _attr(value)


#: bodies the native core decodes itself (and the reference takes the same way)
NATIVE = {
    "upper-case hex ids": _spans(traceId="0AF7651916CD43DD8448EB211C80319C"),
    "enum names": _spans(kind="SPAN_KIND_SERVER", status={"code": "STATUS_CODE_ERROR"}),
    "enum numbers beyond the enum": _spans(kind=99, status={"code": -5}),
    "int64 as string and number": _spans(startTimeUnixNano="17", endTimeUnixNano=18),
    "proto field names": {
        "resource_spans": [
            {"scope_spans": [{"spans": [{"trace_id": "AAECAwQFBgcICQoLDA0ODw==", "name": "x"}]}]}
        ]
    },
    "unknown fields": _spans(name="x", extra={"a": [1, 2.5, None, True]}, more=None),
    "escapes": b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": '
    b'"a\\"\xc3\xa9\\n\\u00e9\\ud83d\\ude00\\/"}]}]}]}',
    "bytes unpadded and url-safe": _attr({"bytesValue": "-_8"}),
    "bytes padded": _attr({"bytesValue": "AAE="}),
    "empty message and arrays": _spans(status={}, events=[], attributes=[]),
    "doubles": _attr(
        {"arrayValue": {"values": [{"doubleValue": v} for v in (1, -0.0, 1e300, 10**30)]}}
    ),
    "minus zero integer": b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": '
    b'[{"key": "k", "value": {"doubleValue": -0}}]}]}]}]}',
    "special doubles": _attr(
        {"arrayValue": {"values": [{"doubleValue": "NaN"}, {"doubleValue": "-Infinity"}]}}
    ),
    "nested kvlists": _deep_kvlist(20),
    "empty id": _spans(parentSpanId=""),
    "wrong id length (a row error)": _spans(spanId="abcd"),
}
#: bodies the native core hands to the reference route (accepted or refused there)
HANDED_OVER = {
    "bad hex": _spans(traceId="xyz"),
    "bad hex in an unknown field": _spans(extra={"traceId": "zz"}),
    "bad base64": _attr({"bytesValue": "!!not base64"}),
    "unknown enum name": _spans(kind="SPAN_KIND_NOPE"),
    "enum number as string": _spans(kind="2"),
    "two oneof members": _attr({"stringValue": "a", "intValue": "1"}),
    "the same field twice": _spans(name="a", **{"name ": "b"}),
    "null message": _spans(status=None),
    "null in a repeated field": _spans(events=[None]),
    "float for an integer": _spans(startTimeUnixNano=1.0),
    "integer out of range": _spans(droppedAttributesCount=2**32),
    "string for a double": _attr({"doubleValue": "1.5"}),
    "not an object": [1],
    "deep kvlists": _deep_kvlist(40),
    "infinite enum": b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": 1E400}]}]}]}',
    "extension name": _spans(**{"[ext]": 1}),
}
RAW = {
    "invalid JSON": b'{"resourceSpans": [',
    "invalid UTF-8": b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\xff"}]}]}]}',
    "UTF-8 BOM": b'\xef\xbb\xbf{"resourceSpans": []}',
    "NaN literal": b'{"resourceSpans": [], "x": NaN}',
    "trailing garbage": b'{"resourceSpans": []} x',
    "deep arrays": b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "lone surrogate": b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\\ud800"}]}]}]}',
    "escaped key": b'{"resource\\u0053pans": []}',
}


def _body(name: str) -> bytes:
    if name in RAW:
        return RAW[name]
    value = NATIVE.get(name, HANDED_OVER.get(name))
    if isinstance(value, bytes):
        return value
    return json.dumps(value).replace('"name ": "b"', '"name": "b"').encode()


@pytest.mark.parametrize("name", sorted(NATIVE) + sorted(HANDED_OVER) + sorted(RAW))
@pytest.mark.parametrize("strict", [True, False])
def test_odd_json_is_taken_as_the_reference_takes_it(name: str, strict: bool) -> None:
    body = _body(name)
    assert difference(body, "traces", strict) is None
    assert decided_natively(body, "traces") == (name in NATIVE)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad hex", "traceId: 'xyz' is not a hex id"),
        ("bad hex in an unknown field", "extra.traceId: 'zz' is not a hex id"),
        ("bad base64", "bytesValue"),
        ("unknown enum name", "spans[0].kind: 'SPAN_KIND_NOPE' is not a SpanKind"),
        ("deep arrays", "nested deeper than 200 levels"),
        ("deep kvlists", "too deep"),
        ("invalid UTF-8", "not valid JSON"),
    ],
)
def test_refusals_name_the_field(name: str, message: str) -> None:
    with pytest.raises(ConversionError, match="invalid OTLP/JSON traces request") as caught:
        convert_json(_body(name), "traces")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["aGVs bG8=", "aGVsbG8=x", "aGVs!bG8", "aGVsbG8===", "aGVsbG8=\n", "aGVsbA=="[:-1]],
    ids=["space", "after-padding", "bad-character", "extra-padding", "newline", "half-padded"],
)
def test_base64_that_is_not_exactly_base64_is_refused_not_guessed(text: str) -> None:
    """``base64.b64decode`` (json_format's) skips characters it does not know and what
    follows the padding: "aGVs bG8=x" would be stored as b"hello". Go's protojson refuses it;
    so do we, on both routes."""
    body = _attr({"bytesValue": text})
    assert difference(json.dumps(body).encode(), "traces", True) is None
    with pytest.raises(ConversionError, match=f"bytesValue: {re.escape(repr(text))} is not "):
        convert_json(json.dumps(body).encode(), "traces")


def test_partial_mode_leaves_bad_items_out_and_counts_them() -> None:
    good = _spans(name="ok")["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    bad = {**good, "spanId": "ab"}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [good, bad, good]}]}]}).encode()
    assert decided_natively(body, "traces")
    converted = convert_json(body, "traces", strict=False)
    assert (converted.batch.num_rows, converted.rejected) == (2, 1)
    assert "spans[1].span_id: expected 8 bytes" in str(converted.error)
    with pytest.raises(ConversionError, match=r"spans\[1\]\.span_id"):
        convert_json(body, "traces", strict=True)


# --- random mutations of valid requests ----------------------------------------------------

_CHARS = b'{}[],:"\\ 0123456789.-+eE\x00\xff\xc3nulltruefalseNaN'
_VALUES: list[Any] = [None, 0, -1, 1.5, 2**64, "", "x", "NaN", "01", True, [], {}, [None], "AA=="]
_LITERALS = [b"-0", b"1e5", b"-0.0", b"1E400", b"0.1e-2", b'"1"', b'"-1"', b"[]", b"{}"]


def _structural(value: Any, rng: random.Random) -> Any:
    """``value`` (parsed JSON) with one node replaced, dropped, renamed or duplicated."""
    nodes: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            nodes.extend((node, k) for k in node)
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            nodes.extend((node, i) for i in range(len(node)))
            for item in node:
                walk(item)

    walk(value)
    if not nodes:
        return value
    parent, key = rng.choice(nodes)
    kind = rng.randrange(5)
    if kind == 0:
        parent[key] = rng.choice(_VALUES)
    elif kind == 1:
        del parent[key]
    elif kind == 2 and isinstance(key, str):  # the proto name, or the value as a string
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
        parent[snake] = parent[key]
    elif kind == 3 and isinstance(parent[key], int | float) and not isinstance(parent[key], bool):
        parent[key] = str(parent[key])
    elif isinstance(parent, list):
        parent.append(parent[key])
    return value


def mutate(text: bytes, rng: random.Random) -> bytes:
    """One random mutation: a bit flipped, a cut, bytes or JSON characters inserted, a byte
    dropped, a scalar replaced by another literal, or a structural change (a value replaced,
    dropped, renamed, duplicated)."""
    kind = rng.randrange(7)
    pos = rng.randrange(len(text) + 1)
    if kind == 6:  # a scalar value replaced by another literal
        values = list(re.finditer(rb':(-?[0-9][0-9.eE+-]*|"[^"\\]*"|true|false)', text))
        if values:
            found = rng.choice(values)
            literal = rng.choice(_LITERALS)
            return text[: found.start(1)] + literal + text[found.end(1) :]
    if kind == 0 and text:
        i = min(pos, len(text) - 1)
        return text[:i] + bytes([text[i] ^ (1 << rng.randrange(8))]) + text[i + 1 :]
    if kind == 1:
        return text[:pos]
    if kind == 2:
        return text[:pos] + rng.randbytes(rng.randint(1, 3)) + text[pos:]
    if kind == 3:
        return text[:pos] + bytes(rng.choices(_CHARS, k=rng.randint(1, 3))) + text[pos:]
    if kind == 4:
        return text[:pos] + text[pos + 1 :]
    try:
        value = json.loads(text)
    except ValueError:
        return text + b" "
    return json.dumps(_structural(value, rng)).encode()


def mutation_loop(seed: int, count: int) -> list[str]:
    """Compare both routes on ``count`` mutated requests per signal; the differences."""
    from tests import sample as _sample

    t0 = 1_764_000_000 * 10**9
    samples: dict[str, list[Any]] = {
        "traces": [_sample.traces(n, start_ns=t0, seed=n) for n in (1, 3)],
        "logs": [_sample.logs(n, start_ns=t0, seed=n) for n in (1, 3)],
        "metrics": [_sample.metrics(n, time_ns=t0, seed=n) for n in (1, 2)],
    }
    rng = random.Random(seed)
    failures = []
    for signal, requests in samples.items():
        texts = [json_wire.encode_request(r) for r in requests]
        for _ in range(count):
            text = rng.choice(texts)
            for _ in range(rng.randint(1, 3)):
                text = mutate(text, rng)
            for strict in (True, False):
                problem = difference(text, signal, strict)
                if problem:
                    failures.append(f"{signal} strict={strict} {text!r}: {problem}")
    return failures


@pytest.mark.slow
def test_random_mutations_agree_with_the_reference_in_a_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.convert.test_native_json", "20261201", "300"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("0 difference(s)")


if __name__ == "__main__":
    found = mutation_loop(int(sys.argv[1]), int(sys.argv[2]))
    for line in found[:20]:
        print(line[:2000])  # noqa: T201
    print(f"{len(found)} difference(s)")  # noqa: T201
    sys.exit(1 if found else 0)

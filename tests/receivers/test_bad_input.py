"""Hostile or broken input at the OTLP/HTTP receiver: refused with 400 (or 413), counted as
malformed, never a 500, never a traceback in the log, nothing of it stored."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import urllib.request
from typing import Any

import pytest
from google.rpc.status_pb2 import Status

from otlp_arrow import read_table
from otlp_arrow.otlp.json_wire import MAX_JSON_DEPTH
from otlp_arrow.service import Service
from tests.helpers import T0, wait_for
from tests.receivers.test_http import PROTOBUF, _post
from tests.sample import traces

JSON = "application/json"


def _spans_json(**span: Any) -> bytes:
    base = {"traceId": "01" * 16, "spanId": "02" * 8, "name": "s", **span}
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [base]}]}]}).encode()


def _nested_attribute(levels: int) -> bytes:
    value = '{"stringValue":"x"}'
    for _ in range(levels):
        value = '{"kvlistValue":{"values":[{"key":"a","value":' + value + "}]}}"
    spans = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":'
    return (spans + value + "}]}]}]}]}").encode()


def _malformed(service: Service) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{service.http_port}/metrics") as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("otlp_arrow_malformed_requests_total{")
    )


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"resourceSpans":' + b"[" * 30_000 + b"]" * 30_000 + b"}", "nested deeper than"),
        (b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1), "nested deeper"),
        (_nested_attribute(400), "nested deeper than"),
        (_nested_attribute(40), "too deep"),  # protobuf's own limit: 100 messages
        (
            _spans_json(attributes=[{"key": "k", "value": {"bytesValue": "!!not base64"}}]),
            "bytesValue",
        ),
        (
            _spans_json(attributes=[{"key": "k", "value": {"bytesValue": "aGVs bG8=x"}}]),
            "bytesValue: 'aGVs bG8=x' is not base64",
        ),
        (_spans_json(kind="SPAN_KIND_NOPE"), "spans[0].kind: 'SPAN_KIND_NOPE' is not a SpanKind"),
        (_spans_json(status={"code": "NOPE"}), "status.code: 'NOPE' is not a StatusCode"),
    ],
    ids=[
        "deep-array",
        "deep-object",
        "deep-kvlist",
        "deep-messages",
        "base64",
        "base64-lenient",
        "kind",
        "status",
    ],
)
def test_bad_otlp_json_is_400_counted_as_malformed_without_traceback(
    service: Service, caplog: pytest.LogCaptureFixture, body: bytes, message: str
) -> None:
    before = _malformed(service)
    status, _, response = _post(service, "/v1/traces", body, JSON)
    assert status == 400
    assert message in json.loads(response)["message"]
    assert _malformed(service) == before + 1
    _no_traceback(caplog)


def test_enum_numbers_and_known_names_are_still_taken(service: Service) -> None:
    assert _post(service, "/v1/traces", _spans_json(kind="SPAN_KIND_SERVER"), JSON)[0] == 200
    assert _post(service, "/v1/traces", _spans_json(kind=2, status={"code": 99}), JSON)[0] == 200


def test_every_gzip_member_is_decoded(service: Service) -> None:
    wire = traces(6, start_ns=T0).SerializeToString()  # protobuf: concatenation merges
    cut = len(wire) // 2
    body = gzip.compress(wire[:cut]) + gzip.compress(wire[cut:])
    status, _, _ = _post(service, "/v1/traces", body, PROTOBUF, {"Content-Encoding": "gzip"})
    assert status == 200
    service.library.flush()
    assert read_table(service.config.output_dir, "traces").num_rows == 6


@pytest.mark.parametrize(
    ("tail", "code", "message"),
    [
        (b"garbage", 400, "trailing data after the gzip stream is not valid gzip"),
        (b"\0\0\0\0", 400, "not valid gzip"),
        (gzip.compress(b"\0" * 70_000), 413, "larger than 65536 bytes after decompression"),
    ],
    ids=["garbage", "zeros", "second-member-too-large"],
)
def test_gzip_trailing_garbage_and_oversized_members_are_refused(
    service: Service, tail: bytes, code: int, message: str
) -> None:
    body = gzip.compress(traces(2, start_ns=T0).SerializeToString()) + tail
    before = _malformed(service)
    status, _, response = _post(service, "/v1/traces", body, PROTOBUF, {"Content-Encoding": "gzip"})
    assert status == code
    assert message in Status.FromString(response).message
    assert _malformed(service) == before + (code == 400)  # a body too large is not malformed
    service.library.flush()
    assert not list(service.config.output_dir.rglob("*.arrows")) or (
        read_table(service.config.output_dir, "traces").num_rows == 0
    )


def test_a_client_gone_mid_request_is_one_debug_line(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="otlp_arrow.receivers.http")
    with socket.create_connection(("127.0.0.1", service.http_port or 0), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 1000\r\n\r\n0123456789"
        )
    wait_for(
        lambda: any("went away mid-request" in r.getMessage() for r in caplog.records),
        "the debug line about the client gone",
    )
    gone = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(gone) == 1 and gone[0].levelno == logging.DEBUG
    _no_traceback(caplog)
    assert _post(service, "/v1/traces", b"", PROTOBUF)[0] == 200  # still serving

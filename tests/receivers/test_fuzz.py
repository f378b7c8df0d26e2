"""Malformed input of every kind gets a proper status and the server keeps serving."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otlp_arrow.service import Service
from tests.otlp_strategies import TRACE_REQUESTS

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=False),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceSpans",
                    "scopeSpans",
                    "spans",
                    "traceId",
                    "spanId",
                    "attributes",
                    "value",
                    "key",
                    "name",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["bytes", "truncated", "json", "json-shape"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300)), "application/x-protobuf"
    if kind == "truncated":
        wire = draw(TRACE_REQUESTS).SerializeToString()
        return wire[: draw(st.integers(0, max(0, len(wire) - 1)))], "application/x-protobuf"
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode(), "application/json"
    return draw(st.binary(max_size=100)), "application/json"


@pytest.fixture(scope="module")
def one_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    out = tmp_path_factory.mktemp("fuzz")
    with Service(output_dir=out, grpc_port=0, http_port=0, max_receive_bytes="64KiB") as running:
        yield running


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=bodies())
def test_http_answers_every_body_with_a_proper_status(
    one_service: Service, case: tuple[bytes, str]
) -> None:
    body, content_type = case
    request = urllib.request.Request(
        f"http://127.0.0.1:{one_service.http_port}/v1/traces",
        data=body,
        method="POST",
        headers={"Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        with error:
            status = error.code
    assert status in (200, 400)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=bodies())
def test_grpc_answers_every_body_with_a_proper_status(
    one_service: Service, case: tuple[bytes, str]
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{one_service.grpc_port}") as channel:
        try:
            channel.unary_unary(EXPORT)(case[0], timeout=10)
        except grpc.RpcError as error:
            assert error.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_server_is_healthy_after_the_fuzzing(one_service: Service) -> None:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{one_service.http_port}/readyz", timeout=10
    ) as response:
        assert response.status == 200
    huge = json.dumps(
        {
            "resourceSpans": [
                {
                    "scopeSpans": [
                        {
                            "spans": [
                                {"traceId": "00" * 16, "spanId": "00" * 8, "name": "x" * 100_000}
                            ]
                        }
                    ]
                }
            ]
        }
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{one_service.http_port}/v1/traces",
        data=huge,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 413
    info.value.close()

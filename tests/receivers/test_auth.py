"""Bearer tokens on both receivers, /metrics and the viewer's data; the viewer's Host check;
the warning when a service is exposed without protection."""

from __future__ import annotations

import http.client
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
from opentelemetry.sdk.trace.export import SpanExportResult

from otlp_arrow import Config, ConfigError
from otlp_arrow.receivers.auth import Authenticator, host_allowed
from otlp_arrow.service import Service
from tests import sample, sdk_data
from tests.helpers import T0
from tests.receivers.test_http import _post

TOKEN, OTHER = "tok-0123456789abcdef", "tok-fedcba9876543210"
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
BODY = sample.traces(3, start_ns=T0).SerializeToString()


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Service]:
    (tmp_path / "tokens").write_text(f"# the collectors\n{TOKEN}\n\n{OTHER}\n")
    with Service(
        output_dir=tmp_path / "data",
        grpc_port=0,
        http_port=0,
        viewer_port=0,
        write_interval="20ms",
        auth_bearer_tokens=f"file:{tmp_path / 'tokens'}",
        viewer_allowed_hosts="otlp.internal",
    ) as running:
        yield running


def _get(port: int | None, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port or 0, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _grpc(service: Service, token: str | None) -> grpc.StatusCode:
    metadata = [("authorization", f"Bearer {token}")] if token else None
    with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        try:
            channel.unary_unary(EXPORT)(BODY, timeout=10, metadata=metadata)
        except grpc.RpcError as error:
            return error.code()
        return grpc.StatusCode.OK


def _rows(service: Service) -> int:
    service.library.flush()
    return sum(service.library.stats()["rows_written"].get(signal, 0) for signal in ("traces",))


def test_exports_need_a_valid_token_and_refusals_are_counted(
    guarded: Service, caplog: pytest.LogCaptureFixture
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-0000000"}, {"Authorization": TOKEN}):
        status, answer, _ = _post(guarded, "/v1/traces", BODY, headers=headers)
        assert status == 401 and answer["www-authenticate"] == "Bearer"
    assert _grpc(guarded, None) is grpc.StatusCode.UNAUTHENTICATED
    assert _grpc(guarded, "wrong-token-0000000") is grpc.StatusCode.UNAUTHENTICATED
    assert _rows(guarded) == 0  # nothing of the refused requests stored
    assert (
        _post(guarded, "/v1/traces", BODY, headers={"Authorization": f"bearer {OTHER}"})[0] == 200
    )
    assert _grpc(guarded, TOKEN) is grpc.StatusCode.OK
    assert _rows(guarded) == 6
    assert _get(guarded.http_port, "/metrics")[0] == 401
    status, metrics = _get(guarded.http_port, "/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    text = metrics.decode()
    assert 'otlp_arrow_unauthenticated_requests_total{signal="traces",protocol="http"} 3' in text
    assert 'otlp_arrow_unauthenticated_requests_total{signal="traces",protocol="grpc"} 2' in text
    refusals = [r for r in caplog.records if "no valid bearer token" in r.getMessage()]
    assert len(refusals) == 1  # once a minute per client
    assert TOKEN not in caplog.text and OTHER not in caplog.text


def test_health_stays_open(guarded: Service) -> None:
    assert _get(guarded.http_port, "/healthz")[0] == 200
    assert _get(guarded.http_port, "/readyz")[0] == 200


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_official_exporters_with_the_token_header(guarded: Service) -> None:
    spans = sdk_data.spans()
    headers = {"authorization": f"Bearer {TOKEN}"}
    for exporter in (
        GrpcSpans(endpoint=f"127.0.0.1:{guarded.grpc_port}", insecure=True, headers=headers),
        HttpSpans(endpoint=f"http://127.0.0.1:{guarded.http_port}/v1/traces", headers=headers),
    ):
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        exporter.shutdown()


def test_the_viewer_page_loads_its_data_needs_the_token(guarded: Service) -> None:
    port = guarded.viewer_port
    assert _get(port, "/")[0] == 200 and _get(port, "/assets/app.js")[0] == 200
    assert _get(port, "/api/status")[0] == 401
    status, body = _get(port, "/api/status", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and "error" not in json.loads(body)


@pytest.mark.parametrize(
    ("host", "code"),
    [("evil.example", 421), ("evil.example:4320", 421), ("otlp.internal", 200), ("localhost", 200)],
)
def test_the_viewer_answers_only_its_own_host_names(guarded: Service, host: str, code: int) -> None:
    assert _get(guarded.viewer_port, "/", {"Host": host})[0] == code


def test_host_rules() -> None:
    assert host_allowed("127.0.0.1:4320", "127.0.0.1", ())
    assert host_allowed("[::1]:4320", "::1", ())
    assert host_allowed("10.1.2.3", "0.0.0.0", ())
    assert host_allowed("viewer.localhost", "0.0.0.0", ())
    assert host_allowed("Box.Example:80", "box.example", ())
    assert not host_allowed("rebind.attacker.example", "0.0.0.0", ("otlp.internal",))
    assert host_allowed(None, "127.0.0.1", ())


def test_tokens_are_compared_whole() -> None:
    auth = Authenticator([TOKEN])
    assert auth.check(f"Bearer {TOKEN}") and auth.check(f"BEARER  {TOKEN} ")
    for bad in (None, "", "Bearer", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x"):
        assert not auth.check(bad)


def test_tokens_are_secrets() -> None:
    config = Config.load(env={"OTLP_ARROW_AUTH_BEARER_TOKENS": f"{TOKEN},{OTHER}"})
    assert len(config.auth_bearer_tokens) == 2
    assert TOKEN not in repr(config) and TOKEN not in str(config)
    with pytest.raises(ConfigError) as error:
        Config.load(env={"OTLP_ARROW_AUTH_BEARER_TOKENS": "short-secret"})
    assert "16 characters" in str(error.value) and "short-secret" not in str(error.value)


@pytest.mark.parametrize("tokens", ["", TOKEN])
def test_an_exposed_service_without_protection_says_what_is_exposed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, tokens: str
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="otlp_arrow"),
        Service(
            output_dir=tmp_path,
            host="0.0.0.0",
            grpc_port=0,
            http_port=0,
            viewer_port=0,
            auth_bearer_tokens=tokens,
        ),
    ):
        pass
    warned = [r.getMessage() for r in caplog.records if "without TLS" in r.getMessage()]
    if tokens:
        assert not warned
    else:
        assert len(warned) == 1
        assert "send data" in warned[0] and "/metrics" in warned[0] and "viewer" in warned[0]


def test_health_urls_without_token_via_urllib(guarded: Service) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{guarded.http_port}/healthz") as response:
        assert response.status == 200

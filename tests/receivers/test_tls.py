"""TLS and mutual TLS on every listener, with certificates the test makes: the official OTLP
exporters (gRPC and HTTP) with the CA set, with and without a client certificate; a wrong
CA refused; the certificate rotated without a restart and without dropping connections."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import ssl
import subprocess
import sysconfig
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
from opentelemetry.sdk.trace.export import SpanExportResult

from otlp_arrow import ConfigError, read_table
from otlp_arrow.cli.signals import on_reload
from otlp_arrow.receivers.tls import ServerTls
from otlp_arrow.service import Service
from tests import sdk_data
from tests.helpers import wait_for
from tests.receivers.certs import issue, make_ca

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@dataclass
class Pki:
    ca: Path
    other_ca: Path
    server: tuple[Path, Path]
    client: tuple[Path, Path]
    stranger: tuple[Path, Path]  # a client certificate of the other CA
    other_server: tuple[Path, Path]  # a server certificate of the other CA


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca, other = make_ca(d, "ca"), make_ca(d, "other-ca")
    return Pki(
        ca=ca[0],
        other_ca=other[0],
        server=issue(d, ca, "server"),
        client=issue(d, ca, "client", client=True),
        stranger=issue(d, other, "stranger", client=True),
        other_server=issue(d, other, "other-server"),
    )


def _service(out: Path, cert: tuple[Path, Path], client_ca: Path | None = None) -> Service:
    return Service(
        output_dir=out,
        grpc_port=0,
        http_port=0,
        write_interval="20ms",
        tls_cert_file=str(cert[0]),
        tls_key_file=str(cert[1]),
        tls_client_ca_file=str(client_ca or ""),
    )


def _context(ca: Path, client: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        context.load_cert_chain(*client)
    return context


def _https(service: Service, context: ssl.SSLContext | None) -> int:
    """GET /healthz (over plaintext when ``context`` is None), closing the socket whatever
    happens (a failed handshake must not leave it to the garbage collector)."""
    port = service.http_port or 0
    conn = (
        http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        if context is None
        else http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    )
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    finally:
        conn.close()


def _grpc(service: Service, ca: Path, client: tuple[Path, Path] | None = None) -> bool:
    key, chain = (client[1].read_bytes(), client[0].read_bytes()) if client else (None, None)
    credentials = grpc.ssl_channel_credentials(ca.read_bytes(), key, chain)
    with grpc.secure_channel(f"127.0.0.1:{service.grpc_port}", credentials) as channel:
        try:
            channel.unary_unary(EXPORT)(b"", timeout=5)
        except grpc.RpcError:
            return False
        return True


def _exporters(service: Service, pki: Pki, client: tuple[Path, Path] | None) -> list[Any]:
    key, chain = (client[1].read_bytes(), client[0].read_bytes()) if client else (None, None)
    files: dict[str, Any] = {}
    if client is not None:
        files = {"client_certificate_file": str(client[0]), "client_key_file": str(client[1])}
    return [
        GrpcSpans(
            endpoint=f"https://127.0.0.1:{service.grpc_port}",
            credentials=grpc.ssl_channel_credentials(pki.ca.read_bytes(), key, chain),
            timeout=10,
        ),
        HttpSpans(
            endpoint=f"https://127.0.0.1:{service.http_port}/v1/traces",
            certificate_file=str(pki.ca),
            timeout=10,
            **files,
        ),
    ]


def test_tls_official_exporters_with_the_ca_and_a_wrong_ca_refused(
    tmp_path: Path, pki: Pki
) -> None:
    with _service(tmp_path, pki.server) as service:
        spans = sdk_data.spans()
        for exporter in _exporters(service, pki, None):
            assert exporter.export(spans) is SpanExportResult.SUCCESS
            exporter.shutdown()
        assert _https(service, _context(pki.ca)) == 200
        with pytest.raises(ssl.SSLCertVerificationError):
            _https(service, _context(pki.other_ca))
        assert not _grpc(service, pki.other_ca)
        with pytest.raises((OSError, http.client.HTTPException)):  # no plaintext
            _https(service, None)
        service.library.flush()
        assert read_table(tmp_path, "traces").num_rows == 2 * len(spans)


def test_mutual_tls_requires_a_client_certificate_of_the_ca(tmp_path: Path, pki: Pki) -> None:
    with _service(tmp_path, pki.server, client_ca=pki.ca) as service:
        spans = sdk_data.spans()
        for exporter in _exporters(service, pki, pki.client):
            assert exporter.export(spans) is SpanExportResult.SUCCESS
            exporter.shutdown()
        assert _https(service, _context(pki.ca, pki.client)) == 200
        for client in (None, pki.stranger):
            with pytest.raises((ssl.SSLError, OSError, http.client.HTTPException)):
                _https(service, _context(pki.ca, client))
            assert not _grpc(service, pki.ca, client)
        service.library.flush()
        assert read_table(tmp_path, "traces").num_rows == 2 * len(spans)


def test_a_reloaded_client_ca_replaces_the_old_one_on_every_listener(
    tmp_path: Path, pki: Pki
) -> None:
    trusted = tmp_path / "client-ca.pem"
    shutil.copyfile(pki.ca, trusted)
    with _service(tmp_path / "data", pki.server, client_ca=trusted) as service:
        assert _https(service, _context(pki.ca, pki.client)) == 200
        assert _grpc(service, pki.ca, pki.client)
        fresh = trusted.with_suffix(".new")
        shutil.copyfile(pki.other_ca, fresh)  # trust the other CA's clients instead
        fresh.replace(trusted)
        assert service.reload_tls()
        assert _https(service, _context(pki.ca, pki.stranger)) == 200
        assert _grpc(service, pki.ca, pki.stranger)
        with pytest.raises((ssl.SSLError, OSError, http.client.HTTPException)):
            _https(service, _context(pki.ca, pki.client))  # its CA withdrawn
        assert not _grpc(service, pki.ca, pki.client)


def _served_certificate(port: int | None) -> str:
    return ssl.get_server_certificate(("127.0.0.1", port or 0), timeout=10)


def test_certificate_rotation_without_restart_keeps_open_connections(
    tmp_path: Path, pki: Pki
) -> None:
    live = (tmp_path / "cert.pem", tmp_path / "key.pem")
    for source, target in zip(pki.server, live, strict=True):
        shutil.copyfile(source, target)
    with _service(tmp_path / "data", live) as service:
        both = ssl.create_default_context(cafile=str(pki.ca))
        both.load_verify_locations(cafile=str(pki.other_ca))
        kept = http.client.HTTPSConnection("127.0.0.1", service.http_port, context=both)
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b"ok\n"
        assert not _grpc(service, pki.other_ca)
        for source, target in zip(pki.other_server, live, strict=True):  # rotate, as a
            fresh = target.with_suffix(".new")  # certificate manager does
            shutil.copyfile(source, fresh)
            fresh.replace(target)
        new = pki.other_server[0].read_text()
        wait_for(lambda: _served_certificate(service.http_port) == new, "the new certificate")
        wait_for(lambda: _grpc(service, pki.other_ca), "gRPC with the new certificate")
        kept.request("GET", "/healthz")  # the connection opened before is still served
        assert kept.getresponse().read() == b"ok\n"
        kept.close()
        assert service.reload_tls()  # what SIGHUP does


def test_handshakes_during_reloads_never_fail(tmp_path: Path, pki: Pki) -> None:
    """A reload swaps in a whole new certificate and key for the next handshakes: a handshake
    that races it gets the old pair or the new one, never a mix (which fails it)."""
    live = (tmp_path / "cert.pem", tmp_path / "key.pem")
    pairs = (pki.server, pki.other_server)
    for source, target in zip(pki.server, live, strict=True):
        shutil.copyfile(source, target)
    with _service(tmp_path / "data", live) as service:
        stop, reloads = threading.Event(), [0]

        def reload_again_and_again() -> None:
            while not stop.is_set():
                for source, target in zip(pairs[reloads[0] % 2], live, strict=True):
                    shutil.copyfile(source, target)
                assert service.reload_tls()
                reloads[0] += 1

        reloader = threading.Thread(target=reload_again_and_again)
        reloader.start()
        try:
            served = {_served_certificate(service.http_port) for _ in range(300)}
        finally:
            stop.set()
            reloader.join()
    assert reloads[0] > 50
    assert served == {p[0].read_text() for p in pairs}  # both, and nothing else


def test_broken_files_keep_the_previous_certificate(tmp_path: Path, pki: Pki) -> None:
    live = (tmp_path / "cert.pem", tmp_path / "key.pem")
    for source, target in zip(pki.server, live, strict=True):
        shutil.copyfile(source, target)
    with _service(tmp_path / "data", live) as service:
        live[0].write_text("-----BEGIN CERTIFICATE-----\nhalf")
        assert not service.reload_tls()
        assert _https(service, _context(pki.ca)) == 200


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tls_cert_file": "c.pem"}, "both tls_cert_file and tls_key_file"),
        ({"tls_client_ca_file": "ca.pem"}, "needs tls_cert_file"),
        ({"tls_cert_file": "nope.pem", "tls_key_file": "nope.pem"}, "cannot read nope.pem"),
    ],
)
def test_tls_settings_errors(tmp_path: Path, settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Service(output_dir=tmp_path, grpc_port=0, http_port=0, **settings)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_sighup_calls_the_reload_hook() -> None:
    called = threading.Event()
    previous = signal.getsignal(signal.SIGHUP)
    try:
        assert on_reload(called.set)
        os.kill(os.getpid(), signal.SIGHUP)
        assert called.wait(10)
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the exporter's
    ``certificate_file`` (set as the session's ``verify``): the test's CA must win."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    yield


def test_the_standalone_viewer_serves_tls_and_asks_for_the_token(tmp_path: Path, pki: Pki) -> None:
    token = "view-token-0123456789"
    env = {
        **os.environ,
        "OTLP_ARROW_TLS_CERT_FILE": str(pki.server[0]),
        "OTLP_ARROW_TLS_KEY_FILE": str(pki.server[1]),
        "OTLP_ARROW_AUTH_BEARER_TOKENS": token,
    }
    exe = shutil.which("otlp-arrow", path=sysconfig.get_path("scripts"))
    assert exe is not None
    proc = subprocess.Popen(
        [exe, "view", "--output-dir", str(tmp_path), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"on https://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        port = int(match.group(1))
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=_context(pki.ca), timeout=10)
        try:
            for headers, code in (({}, 401), ({"Authorization": f"Bearer {token}"}, 200)):
                conn.request("GET", "/api/status", headers=headers)
                response = conn.getresponse()
                response.read()
                assert response.status == code
        finally:
            conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        if proc.stderr is not None:
            proc.stderr.close()


def test_the_tls_file_that_cannot_be_read_is_the_one_named(tmp_path: Path, pki: Pki) -> None:
    """With a good certificate and key, a missing client CA is named alone (it was listed with
    the two others, and the user could not tell which was missing)."""
    nope = tmp_path / "nope.pem"
    with pytest.raises(ConfigError) as info:
        ServerTls(*pki.server, nope)
    assert str(info.value) == f"TLS: cannot read {nope}: No such file or directory"

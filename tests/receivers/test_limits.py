"""The receivers' limits on loopback: header and body timeouts, the connection cap, the
in-flight-bytes admission limit; and the pure parts (caps, the budget, once-per-spell logs)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from otlp_arrow.receivers.limits import (
    FD_RESERVE,
    InflightBytes,
    OncePerSpell,
    connection_cap,
    raise_fd_limit,
)
from otlp_arrow.service import Service
from tests import sample
from tests.helpers import T0, wait_for
from tests.receivers.test_http import _post

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[Service]:
    with Service(
        output_dir=tmp_path,
        grpc_port=0,
        http_port=0,
        write_interval="20ms",
        header_timeout="0.5s",
        body_timeout="0.5s",
        max_connections=3,
        max_inflight_bytes="1MiB",
    ) as running:
        yield running


def _connect(service: Service) -> socket.socket:
    return socket.create_connection(("127.0.0.1", service.http_port or 0), timeout=10)


def _healthz(sock: socket.socket) -> bytes:
    """``GET /healthz`` on ``sock``: the whole response (headers and body may come apart)."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < len(b"ok"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_request_whose_headers_never_end_is_closed(strict: Service) -> None:
    with _connect(strict) as sock:
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")
        assert _closed(sock)  # recv waits at most the socket timeout (10 s)


def test_a_body_that_never_ends_is_408_and_closed(strict: Service) -> None:
    with _connect(strict) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 1000\r\n\r\n0123456789"
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in answer.lower()
    assert b"not received within 0.5s" in answer


def test_connections_beyond_the_cap_are_closed_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Service(output_dir=tmp_path, grpc_port="off", http_port=0, max_connections=3) as strict:
        _beyond_the_cap(strict, caplog)


def _beyond_the_cap(strict: Service, caplog: pytest.LogCaptureFixture) -> None:
    held = [_connect(strict) for _ in range(3)]  # idle: kept for header_timeout (10 s)

    def refused() -> bool:
        with _connect(strict) as extra:
            return _closed(extra)

    try:
        for _ in range(3):
            assert refused()
    finally:
        for sock in held:
            sock.close()
    lines = [r for r in caplog.records if "beyond max_connections=3" in r.getMessage()]
    assert len(lines) == 1
    wait_for(
        lambda: _post(strict, "/v1/traces", b"")[0] == 200, "served again", ignoring=(OSError,)
    )


def test_beyond_the_inflight_bytes_http_is_429_and_grpc_resource_exhausted(
    strict: Service,
) -> None:
    body = sample.traces(5, start_ns=T0).SerializeToString()
    assert strict.inflight.acquire(1024**2)  # as if a large request were being converted
    try:
        status, headers, _ = _post(strict, "/v1/traces", body)
        assert status == 429 and headers["retry-after"] == "1"
        with (
            grpc.insecure_channel(f"127.0.0.1:{strict.grpc_port}") as channel,
            pytest.raises(grpc.RpcError) as error,
        ):
            channel.unary_unary(EXPORT)(body, timeout=10)
        assert error.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "max_inflight_bytes" in (error.value.details() or "")
        trailing: dict[str, Any] = dict(error.value.trailing_metadata())
        assert "google.rpc.retryinfo-bin" in trailing
    finally:
        strict.inflight.release(1024**2)
    assert _post(strict, "/v1/traces", body)[0] == 200
    assert strict.inflight.held == 0 and strict.inflight.peak >= 1024**2


def test_the_budget() -> None:
    budget = InflightBytes(100)
    assert budget.acquire(500)  # alone: always admitted
    assert not budget.acquire(1) and budget.refused == 1
    budget.release(500)
    assert budget.acquire(60) and budget.acquire(40) and not budget.acquire(1)
    assert InflightBytes(0).acquire(10**12)  # 0: no limit


def test_connection_caps_fit_the_descriptor_limit() -> None:
    assert connection_cap(512, 3, 1024) == (1024 - FD_RESERVE) // 3
    assert connection_cap(512, 2, 100_000) == 512
    assert connection_cap(512, 2, None) == 512
    assert connection_cap(512, 2, 10) == 1
    limit = raise_fd_limit()
    assert limit is None or limit >= 256


def test_once_per_spell_passes_one_line_without_traceback() -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger = logging.getLogger("tests.once")
    logger.propagate = False
    handler = Keep()
    logger.addHandler(handler)
    logger.addFilter(OncePerSpell(("accept failed",), spell_s=3600))
    try:
        for _ in range(5):
            try:
                raise OSError(24, "Too many open files")
            except OSError:
                logger.exception("accept failed")
        logger.warning("something else")
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in seen] == ["accept failed", "something else"]
    assert seen[0].exc_info is None


def test_every_connection_sends_without_nagle_delay(strict: Service) -> None:
    """TCP_NODELAY on each accepted connection: a response written in two parts (the headers,
    then a short body such as OTLP/JSON's ``{}``) is not held back until the client's delayed
    ACK, which costs 40 ms a request on Linux."""
    with _connect(strict) as sock:
        assert _healthz(sock).startswith(b"HTTP/1.1 200")
        server = strict._http._background._server
        connections = list(server.server_state.connections)
        sockets = [c.transport.get_extra_info("socket") for c in connections]
        assert sockets
        assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)


def test_a_kept_alive_connection_waits_idle_timeout_not_header_timeout(strict: Service) -> None:
    """Between two requests a connection is idle: ``idle_timeout`` (30 s) closes it, not
    ``header_timeout`` (0.5 s), which counts from the next request's first byte."""
    with _connect(strict) as sock:
        assert _healthz(sock).startswith(b"HTTP/1.1 200")
        time.sleep(2)
        assert _healthz(sock).startswith(b"HTTP/1.1 200")


def test_a_kept_alive_connection_that_trickles_a_request_is_closed(strict: Service) -> None:
    with _connect(strict) as sock:
        assert _healthz(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        assert _closed(sock)  # within header_timeout; recv waits at most 10 s

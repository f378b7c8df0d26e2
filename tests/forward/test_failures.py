"""The forwarder against a scripted real endpoint: outages, slowness, throttling, refusals,
partial success, the circuit breaker — and the local files stay complete throughout."""

from __future__ import annotations

import functools
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otlp_arrow import ConfigError, OtlpLibrary, read_table
from otlp_arrow.forward.backoff import delay
from otlp_arrow.forward.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from otlp_arrow.forward.senders import retry_after_seconds
from tests.forward.endpoint import (
    ForwardProxy,
    GrpcEndpoint,
    HttpEndpoint,
    Reply,
    free_port,
    self_signed,
)
from tests.helpers import span_batch, wait_for

PROXY_PASSWORD = "pp-5e6f7a8b"
FAST = {
    "write_interval": "20ms",
    "forward_retry_initial": "20ms",
    "forward_retry_max": "100ms",
    "forward_breaker_open": "200ms",
    "forward_timeout": "2s",
}


@pytest.fixture
def http() -> Iterator[HttpEndpoint]:
    endpoint = HttpEndpoint().start()
    yield endpoint
    endpoint.stop()


def library(out: Path, url: str, **settings: Any) -> OtlpLibrary:
    return OtlpLibrary(output_dir=out, forward_endpoint=url, **{**FAST, **settings})


def span_ids(items: list[Any]) -> list[bytes]:
    return [span.span_id for span in items]


def test_endpoint_down_at_start_then_up_gets_everything_once(tmp_path: Path) -> None:
    endpoint = HttpEndpoint(free_port())  # not started: nothing listens on its port
    lib = library(tmp_path, endpoint.url, forward_breaker_failures="3")
    try:
        batches = [span_batch(50, seed) for seed in range(4)]
        for batch in batches:
            lib.export_traces(batch)
        lib.flush()
        wait_for(lambda: lib.stats()["forward"]["breaker_opened"] >= 1, "the breaker to open")
        forward = lib.stats()["forward"]
        assert forward["retries"] >= 2 and not any(forward["rows_sent"].values())  # 3 sends
        assert read_table(tmp_path, "traces").num_rows == 200  # local files complete
        endpoint.start()
        wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 200, "delivery")
        expected = [sid for b in batches for sid in b.column("span_id").to_pylist()]
        assert sorted(span_ids(endpoint.items("traces"))) == sorted(expected)  # none twice
        assert lib.stats()["forward"]["breaker_state"] == CLOSED
    finally:
        lib.shutdown()
        endpoint.stop()


def test_503_with_retry_after_is_honoured(tmp_path: Path, http: HttpEndpoint) -> None:
    http.script.append(Reply(503, {"Retry-After": "1"}))
    with library(tmp_path, http.url) as lib:
        lib.export_traces(span_batch(10))
        lib.flush()
        wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 10, "the retry")
        waited = http.attempts[1] - http.attempts[0]
        assert waited >= 0.95  # the server asked for 1 s; our own back-off would be 20 ms
        stats = lib.stats()["forward"]
        assert stats["retries"] == 1 and stats["requests"] == {"HTTP 503": 1, "ok": 1}


def _failed_rows(lib: OtlpLibrary, rows: int) -> bool:
    return bool(lib.stats()["forward"]["rows_failed"].get("traces") == rows)


@pytest.mark.parametrize("status", [400, 401, 403, 307])  # a redirected POST: not followed
def test_permanent_refusals_are_not_retried_and_logged_once(
    tmp_path: Path, http: HttpEndpoint, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    moved = {"Location": f"{http.url}/elsewhere"} if status == 307 else {}
    http.script.extend([Reply(status, moved), Reply(status, moved)])
    with caplog.at_level(logging.WARNING, "otlp_arrow.forward"), library(tmp_path, http.url) as lib:
        for failed in (10, 20):  # one refusal at a time: two requests, never one of both
            lib.export_traces(span_batch(10, failed))
            lib.flush()
            wait_for(functools.partial(_failed_rows, lib, failed), "a refusal")
        lib.export_traces(span_batch(5, 9))  # the endpoint accepts again
        lib.flush()
        wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 5, "delivery")
        stats = lib.stats()["forward"]
    assert stats["retries"] == 0 and stats["requests"] == {f"HTTP {status}": 2, "ok": 1}
    refusals = [r for r in caplog.records if "refused, not retried" in r.getMessage()]
    assert len(refusals) == 1 and f"HTTP {status}" in refusals[0].getMessage()
    assert read_table(tmp_path, "traces").num_rows == 25


def test_partial_success_is_counted_and_logged(
    tmp_path: Path, http: HttpEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    http.script.append(Reply(200, rejected=3))
    with caplog.at_level(logging.WARNING, "otlp_arrow.forward"), library(tmp_path, http.url) as lib:
        lib.export_traces(span_batch(10))
        lib.flush()
        wait_for(lambda: lib.stats()["forward"]["rows_rejected"].get("traces") == 3, "the count")
        assert lib.stats()["forward"]["rows_sent"]["traces"] == 7
    assert any("rejected 3 of 10 traces" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_requests_share_one_kept_alive_connection(tmp_path: Path, tls: bool) -> None:
    """The forwarder sends one request after another: a new connection for each would cost a
    TCP (and a TLS) handshake per request, round trips that a remote endpoint makes slow."""
    if tls and shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert = self_signed(tmp_path) if tls else None
    endpoint = HttpEndpoint(tls=cert).start()
    endpoint.script.append(Reply(503))  # an error answer leaves the connection usable too
    trust = {"forward_ca_file": str(cert[0])} if cert else {}
    try:
        with library(tmp_path / "out", endpoint.url, forward_batch_rows="50", **trust) as lib:
            lib.export_traces(span_batch(200))
            lib.flush()
            wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 200, "delivery")
        assert len(endpoint.received) == 4 and len(endpoint.attempts) == 5
        assert len(endpoint.connections) == 1
    finally:
        endpoint.stop()


def test_a_dropped_connection_is_replaced(tmp_path: Path) -> None:
    endpoint = HttpEndpoint().start()
    try:
        with library(tmp_path, endpoint.url) as lib:
            batches = [span_batch(20, seed) for seed in range(2)]
            lib.export_traces(batches[0])
            lib.flush()
            wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 20, "delivery")
            endpoint.stop()  # a restart of the endpoint: its connections are gone
            endpoint.start()
            lib.export_traces(batches[1])
            lib.flush()
            wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 40, "delivery")
        expected = [sid for b in batches for sid in b.column("span_id").to_pylist()]
        assert sorted(span_ids(endpoint.items("traces"))) == sorted(expected)  # none twice
        assert len(endpoint.connections) == 2
    finally:
        endpoint.stop()


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _sent_is(lib: OtlpLibrary, rows: int) -> bool:
    return bool(lib.stats()["forward"]["rows_sent"].get("traces") == rows)


def _deliver_one(out: Path, url: str) -> None:
    with library(out, url) as lib:
        lib.export_traces(span_batch(10))
        lib.flush()
        wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 10, "delivery")


@pytest.mark.parametrize("form", ["url", "host:port", "credentials"])
def test_the_environment_s_proxy_is_used_and_no_proxy_bypasses_it(
    tmp_path: Path, http: HttpEndpoint, no_proxy_env: pytest.MonkeyPatch, form: str
) -> None:
    proxy = ForwardProxy(auth=f"ada:{PROXY_PASSWORD}" if form == "credentials" else None)
    where = f"127.0.0.1:{proxy.port}"
    value = {
        "url": f"http://{where}",
        "host:port": where,  # no scheme: as urllib takes it
        "credentials": f"http://ada:{PROXY_PASSWORD}@{where}",
    }[form]
    no_proxy_env.setenv("HTTP_PROXY", value)
    try:
        _deliver_one(tmp_path / "proxied", http.url)
        assert proxy.seen == [f"{http.url}/v1/traces"] and len(http.received) == 1
        no_proxy_env.setenv("NO_PROXY", f"127.0.0.1:{http.port}")  # with its port, as urllib
        _deliver_one(tmp_path / "direct", http.url)
        assert len(proxy.seen) == 1 and len(http.received) == 2
    finally:
        proxy.stop()


def test_a_proxy_of_another_kind_is_a_clear_error_at_start(
    tmp_path: Path, no_proxy_env: pytest.MonkeyPatch
) -> None:
    no_proxy_env.setenv("HTTP_PROXY", f"socks5h://ada:{PROXY_PASSWORD}@127.0.0.1:1080")
    with pytest.raises(ConfigError, match="socks5h:// proxy") as error:
        library(tmp_path, "http://127.0.0.1:9")
    assert PROXY_PASSWORD not in str(error.value)


def test_a_connection_closed_before_the_answer_is_replaced_at_once(
    tmp_path: Path, http: HttpEndpoint
) -> None:
    """An endpoint may close an idle kept-alive connection just as the next request goes out:
    that request is sent again on a new connection, not counted as a failure and retried."""
    http.script.extend([Reply(), Reply(drop=True)])
    with library(tmp_path, http.url) as lib:
        for seed in range(2):
            lib.export_traces(span_batch(10, seed))
            lib.flush()
            wait_for(functools.partial(_sent_is, lib, 10 * (seed + 1)), "delivery")
        stats = lib.stats()["forward"]
    assert stats["retries"] == 0 and stats["requests"] == {"ok": 2}
    assert len(http.attempts) == 3 and len(http.connections) == 2 and len(http.received) == 2


def test_slow_endpoint_opens_the_breaker_and_never_slows_the_local_path(
    tmp_path: Path, http: HttpEndpoint
) -> None:
    http.script.extend(Reply(delay=1.0) for _ in range(50))  # every answer after the timeout
    settings = {
        "forward_timeout": "200ms",
        "forward_breaker_failures": "2",
        "forward_breaker_open": "30s",
    }
    with library(tmp_path, http.url, **settings) as lib:
        started = time.monotonic()
        for seed in range(40):  # 4,000 rows, none of them acknowledged by the endpoint
            lib.export_traces(span_batch(100, seed))
            lib.flush()  # each flush waits for the local write, never for the remote
        local_seconds = time.monotonic() - started
        wait_for(lambda: lib.stats()["forward"]["breaker_state"] == OPEN, "the breaker")
        stats = lib.stats()["forward"]
        assert read_table(tmp_path, "traces").num_rows == 4000
        # forwarding 40 requests would take >= 40 x 200 ms; the local path did not wait for it
        assert local_seconds < 40 * 0.2
        assert stats["lag_rows"]["traces"] == 4000  # nothing dropped: all still to forward
        assert not any(stats["rows_dropped"].values()) and not any(stats["rows_sent"].values())
        assert stats["requests"].get("unreachable", 0) >= 2  # the timeouts counted


def test_breaker_states() -> None:
    breaker = CircuitBreaker(failures=2, open_s=10, probes=2)
    breaker.failure(0)
    assert breaker.state == CLOSED and breaker.wait(0) == 0
    breaker.failure(1)
    assert breaker.state == OPEN and breaker.wait(5) == 6
    assert breaker.wait(11) == 0 and breaker.state == HALF_OPEN
    breaker.success()
    assert breaker.state == HALF_OPEN  # one of two probes
    breaker.failure(12)
    assert breaker.state == OPEN and breaker.times_opened == 2  # a failed probe reopens
    assert breaker.wait(22) == 0
    breaker.success()
    breaker.success()
    assert breaker.state == CLOSED


def test_breaker_opens_half_opens_and_closes_against_a_real_endpoint(
    tmp_path: Path, http: HttpEndpoint
) -> None:
    http.script.extend(Reply(502) for _ in range(3))
    with library(
        tmp_path, http.url, forward_breaker_failures="3", forward_breaker_open="300ms"
    ) as lib:
        lib.export_traces(span_batch(10))
        lib.flush()
        wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 10, "delivery")
        stats = lib.stats()["forward"]
    assert stats["breaker_opened"] == 1 and stats["breaker_state"] == CLOSED
    assert stats["requests"] == {"HTTP 502": 3, "ok": 1}


def test_back_off_grows_with_jitter_and_obeys_the_server() -> None:
    import random

    rng = random.Random(1)
    waits = [delay(n, 1.0, 8.0, rng=rng) for n in range(6)]
    for n, wait in enumerate(waits):
        ceiling = min(8.0, 2.0**n)
        assert ceiling / 2 <= wait <= ceiling
    assert delay(0, 1.0, 8.0, retry_after=30.0, rng=rng) == 30.0  # longer than max: honoured
    assert delay(5, 1.0, 8.0, retry_after=0.1, rng=rng) >= 4.0  # shorter: our own back-off
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 25 Nov 2026 20:00:10 GMT", now=1795636800.0) == 10.0
    assert retry_after_seconds("soon") is None


def test_grpc_resource_exhausted_with_retry_info_is_retried_after_its_delay(
    tmp_path: Path,
) -> None:
    endpoint = GrpcEndpoint().start()
    endpoint.script.append(Reply("RESOURCE_EXHAUSTED", retry_delay=0.8))
    endpoint.script.append(Reply("INVALID_ARGUMENT"))
    try:
        with library(tmp_path, endpoint.url, forward_protocol="grpc") as lib:
            lib.export_traces(span_batch(10, 1))
            lib.flush()
            wait_for(lambda: lib.stats()["forward"]["rows_failed"].get("traces") == 10, "refusal")
            assert endpoint.attempts[1] - endpoint.attempts[0] >= 0.75  # RetryInfo: 0.8 s
            lib.export_traces(span_batch(10, 2))
            lib.flush()
            wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 10, "delivery")
            stats = lib.stats()["forward"]
        assert stats["requests"] == {"RESOURCE_EXHAUSTED": 1, "INVALID_ARGUMENT": 1, "ok": 1}
        assert stats["retries"] == 1
    finally:
        endpoint.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_tls_with_a_ca_file_and_authentication(tmp_path: Path, protocol: str) -> None:
    cert, key = self_signed(tmp_path)
    kind = GrpcEndpoint if protocol == "grpc" else HttpEndpoint
    endpoint = kind(tls=(cert, key)).start()
    try:
        settings = {"forward_protocol": protocol, "forward_basic_auth": "ada:s3cret"}
        with library(
            tmp_path / "trusted", endpoint.url, forward_ca_file=str(cert), **settings
        ) as lib:
            lib.export_traces(span_batch(10))
            lib.flush()
            wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 10, "delivery")
        assert endpoint.received[0].headers["authorization"] == "Basic YWRhOnMzY3JldA=="
        with library(tmp_path / "untrusted", endpoint.url, **settings) as lib:  # system CAs
            lib.export_traces(span_batch(10))
            lib.flush()
            wait_for(lambda: lib.stats()["forward"]["requests"], "an attempt")
            if protocol == "grpc":  # grpc reports a failed handshake as UNAVAILABLE: retried
                wait_for(lambda: lib.stats()["forward"]["retries"] >= 1, "a retry")
            else:  # a certificate that does not verify is permanent
                wait_for(
                    lambda: lib.stats()["forward"]["rows_failed"].get("traces") == 10, "refusal"
                )
                assert lib.stats()["forward"]["requests"] == {"TLS": 1}
        assert len(endpoint.received) == 1  # nothing reached it without trust
    finally:
        endpoint.stop()

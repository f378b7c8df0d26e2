"""Forwarding from the stored files with a persisted cursor: outages and restarts lose nothing
and send nothing twice, one forwarder per directory and destination (the lease), lag in
``/metrics``, and retention that keeps what is not forwarded yet (unless a size limit forces
it: then counted)."""

from __future__ import annotations

import logging
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otlp_arrow import OtlpLibrary, read_table
from otlp_arrow.service import Service
from tests import sample
from tests.forward.endpoint import HttpEndpoint, Reply, free_port
from tests.helpers import T0, span_batch, start_serve, stop_serve, wait_for

FAST_ENV = {
    "OTLP_ARROW_WRITE_INTERVAL": "20ms",
    "OTLP_ARROW_FORWARD_BATCH_ROWS": "50",
    "OTLP_ARROW_FORWARD_RETRY_INITIAL": "20ms",
    "OTLP_ARROW_FORWARD_RETRY_MAX": "100ms",
    "OTLP_ARROW_FORWARD_BREAKER_OPEN": "200ms",
    "OTLP_ARROW_FORWARD_TIMEOUT": "1s",
}
FAST = {
    "write_interval": "20ms",
    "forward_retry_initial": "20ms",
    "forward_retry_max": "100ms",
    "forward_breaker_open": "200ms",
    "forward_timeout": "1s",
}


@pytest.fixture
def down() -> Iterator[HttpEndpoint]:
    """An endpoint that is down until the test calls ``start()``."""
    endpoint = HttpEndpoint(free_port())
    yield endpoint
    endpoint.stop()


def post(port: int, signal: str, request: Any) -> None:
    http_request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/{signal}",
        data=request.SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    with urllib.request.urlopen(http_request, timeout=10) as response:
        assert response.status == 200


def metric(port: int, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(f"{name}{{{label_text}}}" if labels else name) + r" (\S+)$"
    match = re.search(pattern, text, flags=re.MULTILINE)
    assert match, f"{name} {labels} not in /metrics"
    return float(match.group(1))


def stored_ids(out: Path) -> list[bytes]:
    return sorted(read_table(out, "traces").column("span_id").to_pylist())


def received_ids(endpoint: HttpEndpoint) -> list[bytes]:
    return sorted(span.span_id for span in endpoint.items("traces"))


def test_an_outage_and_a_restart_lose_nothing_and_send_nothing_twice(
    tmp_path: Path, down: HttpEndpoint
) -> None:
    out = tmp_path / "data"
    env = {**FAST_ENV, "OTLP_ARROW_FORWARD_ENDPOINT": down.url}
    first, ports = start_serve(out, "--grpc-port", "0", "--http-port", "0", env=env)
    post(ports["HTTP"], "traces", sample.traces(300, start_ns=T0, seed=3))
    post(ports["HTTP"], "logs", sample.logs(120, start_ns=T0, seed=3))
    stop_serve(first)  # the remote is still down: nothing was sent
    second, ports = start_serve(out, "--grpc-port", "0", "--http-port", "0", env=env)
    try:
        post(ports["HTTP"], "traces", sample.traces(200, start_ns=T0, seed=4))
        wait_for(
            lambda: metric(ports["HTTP"], "otlp_arrow_forward_lag_rows", signal="traces") == 500,
            "the lag of both runs",
        )
        for name in ("sent", "rejected", "failed", "dropped"):  # alerts need a 0 to compare
            for signal in ("traces", "metrics", "logs"):
                assert (
                    metric(ports["HTTP"], f"otlp_arrow_forward_rows_{name}_total", signal=signal)
                    == 0
                )
        down.start()
        wait_for(lambda: len(down.items("traces")) >= 500, "delivery", timeout=30)
        wait_for(lambda: len(down.items("logs")) >= 120, "delivery", timeout=30)
        wait_for(
            lambda: metric(ports["HTTP"], "otlp_arrow_forward_lag_rows", signal="traces") == 0,
            "no lag",
        )
    finally:
        stop_serve(second)
    assert received_ids(down) == stored_ids(out)  # every row, none twice
    assert len(down.items("logs")) == 120


def test_after_a_crash_every_row_arrives_at_least_once(tmp_path: Path) -> None:
    endpoint = HttpEndpoint().start()
    endpoint.script.extend([Reply(), Reply(), Reply(delay=3.0)])  # the third one hangs
    out = tmp_path / "data"
    env = {**FAST_ENV, "OTLP_ARROW_FORWARD_ENDPOINT": endpoint.url}
    env["OTLP_ARROW_FORWARD_TIMEOUT"] = "10s"
    try:
        first, ports = start_serve(out, "--grpc-port", "0", "--http-port", "0", env=env)
        post(ports["HTTP"], "traces", sample.traces(300, start_ns=T0, seed=8))
        wait_for(lambda: len(endpoint.attempts) >= 3, "the hanging request")
        first.kill()  # kill -9 while a request is in flight: its ack is never saved
        first.communicate(timeout=30)
        wait_for(lambda: len(endpoint.items("traces")) >= 150, "the hung request's rows")
        second, ports = start_serve(out, "--grpc-port", "0", "--http-port", "0", env=env)
        try:
            wait_for(lambda: set(received_ids(endpoint)) == set(stored_ids(out)), "delivery")
        finally:
            stop_serve(second)
    finally:
        endpoint.stop()
    received, stored = received_ids(endpoint), stored_ids(out)
    assert set(received) == set(stored) and len(stored) == 300
    assert len(received) == 350  # the request whose ack was lost, twice; nothing else


def test_a_remote_that_stays_down_shows_lag_and_never_slows_local_writes(
    tmp_path: Path, down: HttpEndpoint
) -> None:
    with Service(
        output_dir=tmp_path, grpc_port=0, http_port=0, forward_endpoint=down.url, **FAST
    ) as service:
        started = time.monotonic()
        for seed in range(10):
            service.library.export_traces(span_batch(100, seed))
            assert service.library.flush()
        assert time.monotonic() - started < 5  # the remote is never waited for
        port = service.http_port
        assert port is not None
        wait_for(
            lambda: metric(port, "otlp_arrow_forward_lag_rows", signal="traces") == 1000, "lag"
        )
        first = metric(port, "otlp_arrow_forward_lag_seconds", signal="traces")
        time.sleep(1.1)
        service.library.export_traces(span_batch(50, 99))
        assert service.library.flush()
        wait_for(
            lambda: metric(port, "otlp_arrow_forward_lag_rows", signal="traces") == 1050, "lag"
        )
        assert metric(port, "otlp_arrow_forward_lag_seconds", signal="traces") >= first + 1
        assert metric(port, "otlp_arrow_forward_lease") == 1
        forward = service.stats()["forward"]
        assert forward["lag_rows"]["traces"] == 1050 and not any(forward["rows_sent"].values())
        assert read_table(tmp_path, "traces").num_rows == 1050


def test_two_processes_on_one_directory_send_each_row_once(tmp_path: Path) -> None:
    endpoint = HttpEndpoint().start()
    out = tmp_path / "data"
    env = {**FAST_ENV, "OTLP_ARROW_FORWARD_ENDPOINT": endpoint.url}
    try:
        one, one_ports = start_serve(out, "--grpc-port", "0", "--http-port", "0", env=env)
        two, two_ports = start_serve(out, "--grpc-port", "0", "--http-port", "0", env=env)
        try:
            post(one_ports["HTTP"], "traces", sample.traces(300, start_ns=T0, seed=5))
            post(two_ports["HTTP"], "traces", sample.traces(200, start_ns=T0, seed=6))
            wait_for(lambda: len(endpoint.items("traces")) >= 500, "delivery", timeout=30)
            leases = [metric(p["HTTP"], "otlp_arrow_forward_lease") for p in (one_ports, two_ports)]
            assert sorted(leases) == [0, 1]  # one forwarder for the directory
        finally:
            stop_serve(one)
        try:  # the other one takes the lease over
            post(two_ports["HTTP"], "traces", sample.traces(100, start_ns=T0, seed=7))
            wait_for(lambda: len(endpoint.items("traces")) >= 600, "delivery", timeout=30)
            wait_for(lambda: metric(two_ports["HTTP"], "otlp_arrow_forward_lease") == 1, "lease")
        finally:
            stop_serve(two)
    finally:
        endpoint.stop()
    assert received_ids(endpoint) == stored_ids(out)  # every row, none twice


def test_retention_by_age_keeps_what_is_not_forwarded(tmp_path: Path, down: HttpEndpoint) -> None:
    settings = {**FAST, "rotate_bytes": "4KiB", "retention_age": "1s", "retention_interval": "1s"}
    with OtlpLibrary(output_dir=tmp_path, forward_endpoint=down.url, **settings) as lib:
        for seed in range(5):
            lib.export_traces(span_batch(100, seed))
            assert lib.flush()
        time.sleep(2.5)  # two retention rounds after the files are older than 1 s
        assert lib.stats()["files_deleted"] == 0
        assert read_table(tmp_path, "traces").num_rows == 500
        down.start()
        wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 500, "delivery")
        wait_for(lambda: lib.stats()["files_deleted"] >= 5, "retention once forwarded")
    assert len(received_ids(down)) == 500


def test_retention_by_size_drops_unforwarded_files_and_counts_them(
    tmp_path: Path, down: HttpEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    settings = {
        **FAST,
        "rotate_bytes": "4KiB",
        "retention_bytes": "40KiB",
        "retention_interval": "1s",
        "seal": "off",
    }
    with (
        caplog.at_level(logging.WARNING, "otlp_arrow"),
        OtlpLibrary(output_dir=tmp_path, forward_endpoint=down.url, **settings) as lib,
    ):
        for seed in range(12):
            lib.export_traces(span_batch(100, seed))
            assert lib.flush()

        def settled() -> tuple[int, int] | None:
            """(dropped, kept) once rows were dropped, with nothing deleted while it reads (a
            pass deletes one file at a time, counting it first; the first may be the file in
            flight, whose rows are not dropped)"""
            before = lib.stats()["forward"]["rows_dropped"].get("traces", 0)
            kept = read_table(tmp_path, "traces").num_rows
            after = lib.stats()["forward"]
            dropped = after["rows_dropped"].get("traces", 0)
            steady = dropped == before > 0 and after["lag_rows"]["traces"] == kept
            return (dropped, kept) if steady else None

        dropped, kept = wait_for(settled, "retention by size to drop unforwarded rows", timeout=10)
        assert 0 < dropped <= 1200 - kept
        down.start()
        wait_for(lambda: lib.stats()["forward"]["lag_rows"]["traces"] == 0, "delivery")
        wait_for(lambda: len(received_ids(down)) + dropped == 1200, "the request in flight")
    received = received_ids(down)
    assert len(set(received)) == len(received)  # none twice
    assert set(stored_ids(tmp_path)) <= set(received)  # what was kept arrived
    warnings = [r for r in caplog.records if "not forwarded" in r.getMessage()]
    assert len(warnings) == 1

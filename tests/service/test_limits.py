"""What a hostile client can hold of a real ``otlp-arrow serve``: connections (slowloris
against a 1,024-descriptor limit), time, and memory (many large uploads at once)."""

from __future__ import annotations

import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from otlp_arrow import read_table
from tests import sample
from tests.helpers import T0, start_serve, stop_serve, wait_for

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or not Path("/proc/self/status").exists(),
    reason="needs POSIX resource limits and /proc",
)

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _post(port: int, body: bytes, timeout: float = 5) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/traces",
        data=body,
        headers={"content-type": "application/x-protobuf"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code)


def _grpc_ok(port: int, body: bytes) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            channel.unary_unary(EXPORT)(body, timeout=3)
        except grpc.RpcError:
            return False
        return True


class Slowloris:
    """``n`` connections to each port, each sending one more header byte every second."""

    def __init__(self, ports: list[int], n: int) -> None:
        self.socks: list[socket.socket] = []
        for port in ports:
            for _ in range(n):
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                    sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")
                    self.socks.append(sock)
                except OSError:
                    pass  # refused or reset: the server is defending itself
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stop.wait(1.0):
            for sock in list(self.socks):
                try:
                    sock.send(b"X")
                except OSError:
                    self.socks.remove(sock)
                    sock.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        for sock in self.socks:
            sock.close()


def test_slowloris_against_1024_descriptors_lets_clients_back_within_the_timeout(
    tmp_path: Path,
) -> None:
    server, ports = start_serve(
        tmp_path,
        "--grpc-port",
        "0",
        "--http-port",
        "0",
        env={"OTLP_ARROW_HEADER_TIMEOUT": "2s"},
        max_files=1024,
    )
    body = sample.traces(3, start_ns=T0).SerializeToString()
    try:
        assert _post(ports["HTTP"], body) == 200
        attack = Slowloris([ports["HTTP"], ports["gRPC"]], 1100)
        started = time.monotonic()
        try:
            wait_for(
                lambda: _post(ports["HTTP"], body, timeout=2) == 200,
                "OTLP/HTTP served again",
                timeout=30,
                ignoring=(OSError,),
            )
            http_back = time.monotonic() - started
            wait_for(lambda: _grpc_ok(ports["gRPC"], body), "OTLP/gRPC served again", timeout=30)
            grpc_back = time.monotonic() - started
        finally:
            attack.close()
    finally:
        log = stop_serve(server)
    back = f"served again after {http_back:.1f} s (HTTP), {grpc_back:.1f} s (gRPC)"
    assert http_back < 2 + 10 and grpc_back < 2 + 15, back
    assert "Too many open files" not in log
    assert len(log) < 20_000, log[-3000:]
    assert "Traceback" not in log
    assert read_table(tmp_path, "traces").num_rows >= 6


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


#: 40 uploads of 15 MiB (600 MiB through one server): 30 s alone here, over the default 120 s
#: beside the other test worker on a slow 2-core machine
HEAVY = pytest.mark.timeout(360)


@HEAVY
def test_concurrent_large_uploads_stay_within_the_memory_bound(tmp_path: Path) -> None:
    mib = 1024**2
    inflight, buffer = 64 * mib, 64 * mib
    server, ports = start_serve(
        tmp_path,
        "--grpc-port",
        "off",
        "--http-port",
        "0",
        env={
            "OTLP_ARROW_MAX_INFLIGHT_BYTES": str(inflight),
            "OTLP_ARROW_MAX_BUFFER_BYTES": str(buffer),
            "OTLP_ARROW_MAX_RECEIVE_BYTES": "16MiB",
            "OTLP_ARROW_ROTATE_BYTES": "32MiB",
        },
    )
    request = sample.traces(150, start_ns=T0)
    every = [span for r in request.resource_spans for s in r.scope_spans for span in s.spans]
    for span in every:
        span.attributes.add(key="blob").value.string_value = "x" * 100_000
    body = request.SerializeToString()
    spans = len(every)
    assert 14 * mib < len(body) < 16 * mib
    try:
        assert _post(ports["HTTP"], b"") == 200
        idle = _peak_rss(server.pid)
        refused = []

        def upload(_: int) -> None:
            while (status := _post(ports["HTTP"], body, timeout=60)) != 200:
                assert status == 429, status
                refused.append(status)
                time.sleep(0.2)

        with ThreadPoolExecutor(40) as pool:
            list(pool.map(upload, range(40)))
        peak = _peak_rss(server.pid)
    finally:
        stop_serve(server)
    seen = f"idle {idle / mib:.0f} MiB, peak {peak / mib:.0f} MiB, {len(refused)} refusals"
    assert peak - idle < 3 * (inflight + buffer), seen  # the documented bound (measured: 1.9)
    assert refused  # the admission limit did refuse some
    assert read_table(tmp_path, "traces").num_rows == 40 * spans


@HEAVY
def test_concurrent_attribute_heavy_grpc_uploads_stay_within_the_memory_bound(
    tmp_path: Path,
) -> None:
    mib = 1024**2
    inflight, buffer, receive = 64 * mib, 64 * mib, 16 * mib
    server, ports = start_serve(
        tmp_path,
        "--grpc-port",
        "0",
        "--http-port",
        "off",
        env={
            "OTLP_ARROW_MAX_INFLIGHT_BYTES": str(inflight),
            "OTLP_ARROW_MAX_BUFFER_BYTES": str(buffer),
            "OTLP_ARROW_MAX_RECEIVE_BYTES": str(receive),
            "OTLP_ARROW_ROTATE_BYTES": "32MiB",
        },
    )
    request = sample.traces(8, start_ns=T0)
    every = [span for r in request.resource_spans for s in r.scope_spans for span in s.spans]
    for n, span in enumerate(every):  # ~880k small attributes in all, like the attack
        for i in range(110_000):
            span.attributes.add(key=f"a{i}", value={"int_value": n + i})
    body = request.SerializeToString()
    assert 13 * mib < len(body) < receive
    try:
        assert _grpc_ok(ports["gRPC"], sample.traces(1, start_ns=T0).SerializeToString())
        idle = _peak_rss(server.pid)
        refusals: list[grpc.StatusCode] = []

        def upload(_: int) -> None:
            with grpc.insecure_channel(
                f"127.0.0.1:{ports['gRPC']}",
                options=[("grpc.max_send_message_length", receive)],
            ) as channel:
                while True:
                    try:
                        channel.unary_unary(EXPORT)(body, timeout=120)
                        return
                    except grpc.RpcError as error:
                        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
                        refusals.append(error.code())
                        time.sleep(0.5)  # as an exporter backs off

        with ThreadPoolExecutor(12) as pool:  # 12 x 13.5 MiB: many times the in-flight limit
            list(pool.map(upload, range(12)))
        peak = _peak_rss(server.pid)
    finally:
        stop_serve(server)
    seen = f"idle {idle / mib:.0f} MiB, peak {peak / mib:.0f} MiB, {len(refusals)} refusals"
    # the documented bound for gRPC: grpcio may also hold 16 waiting messages, twice each
    # (its own buffer and the bytes handed to the handler)
    assert peak - idle < 3 * (inflight + buffer) + 2 * 16 * receive, seen
    assert refusals
    assert read_table(tmp_path, "traces").num_rows == 12 * len(every) + 1

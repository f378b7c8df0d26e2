"""``serve --workers N``: real worker processes sharing loopback ports; traffic spread over
them, every acknowledged span stored once, a killed worker restarted, SIGTERM draining, and
the clear error where the platform cannot share ports."""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp_arrow import Service
from otlp_arrow.cli import main
from otlp_arrow.config import Config
from otlp_arrow.errors import ConfigError, ReceiverError
from otlp_arrow.service import prometheus
from otlp_arrow.service import supervisor as supervisor_module
from otlp_arrow.service.supervisor import Supervisor, reserve_port
from otlp_arrow.storage.layout import DATA_SUFFIXES, without_sealed_duplicates
from otlp_arrow.storage.spool import worker_dir

needs_reuseport = pytest.mark.skipif(
    not supervisor_module.reuseport_available(), reason="needs SO_REUSEPORT"
)
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
SPANS = 20  # per request
#: the writer's pid in a data file's name: <signal>-<time>Z-<pid>-<seq>-<token>.<suffix>
PID_IN_NAME = re.compile(r"Z-(\d+)-\d+-[0-9a-f]+\.")


def _request(first_id: int) -> bytes:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for i in range(SPANS):
        span = spans.add()
        span.trace_id = struct.pack(">QQ", 7, first_id + i)
        span.span_id = struct.pack(">Q", first_id + i)
        span.name = "work"
        span.start_time_unix_nano = 1_764_000_000 * 10**9
        span.end_time_unix_nano = span.start_time_unix_nano + 1000
    return request.SerializeToString()


class Serve:
    """``otlp-arrow serve --workers N`` with its log read on a thread."""

    def __init__(self, out: Path, *args: str) -> None:
        exe = shutil.which("otlp-arrow", path=sysconfig.get_path("scripts"))
        assert exe is not None
        self.proc = subprocess.Popen(
            [exe, "serve", "--output-dir", str(out), "--grpc-port", "0", "--http-port", "0", *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        self._new_line = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self.wait_for(r"(\d+) workers ready \(pids ([\d, ]+)\) sharing (.*)")
        self.pids = [int(p) for p in ready.group(2).split(", ")]
        ports = dict(re.findall(r"OTLP/(gRPC|HTTP) (\d+)", ready.group(3)))
        self.grpc_port, self.http_port = int(ports["gRPC"]), int(ports["HTTP"])
        self.wait_for("writing to")

    def _read(self) -> None:
        assert self.proc.stderr is not None
        with self.proc.stderr:
            for line in self.proc.stderr:
                with self._new_line:
                    self.lines.append(line)
                    self._new_line.notify_all()
        with self._new_line:
            self.lines.append("")  # end of the log
            self._new_line.notify_all()

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        with self._new_line:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    match = re.search(pattern, line)
                    if match:
                        return match
                    assert line, f"log ended without {pattern!r}:\n{self.log}"
                seen = len(self.lines)
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {pattern!r} in:\n{self.log}"
                self._new_line.wait(remaining)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(90)


@dataclass
class Client:
    """Sends requests, each on a new connection (SO_REUSEPORT balances connections), and
    remembers what was acknowledged. With ``retry``, a refused request is sent again."""

    serve: Serve
    next_id: int
    protocol: str = "grpc"
    retry: bool = False
    move_on: bool = False  # after a failure, go on with the next request (not the same one)
    acked: list[int] = field(default_factory=list)  # first span id of each request
    sent: list[int] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            first, self.next_id = self.next_id, self.next_id + SPANS
            while True:
                self.sent.append(first)
                try:
                    self._send(_request(first))
                    self.acked.append(first)
                    break
                except (grpc.RpcError, OSError, urllib.error.URLError):
                    if stop.is_set() or not (self.retry or self.move_on):
                        return
                    time.sleep(0.05)
                    if self.move_on:  # a new request: a refused one may or may not be stored
                        break

    def _send(self, body: bytes) -> None:
        if self.protocol == "http":
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.serve.http_port}/v1/traces",
                data=body,
                headers={"content-type": "application/x-protobuf"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            return
        options = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own
        with grpc.insecure_channel(f"127.0.0.1:{self.serve.grpc_port}", options) as channel:
            call: Any = channel.unary_unary(EXPORT)
            call(body, timeout=10)


def _clients(serve: Serve, n: int, retry: bool = False, move_on: bool = False) -> list[Client]:
    kinds = ("grpc", "http")
    return [Client(serve, 1 + i * 10**9, kinds[i % 2], retry, move_on) for i in range(n)]


def _run(clients: list[Client], until: Any) -> None:
    """Run the clients until ``until()`` returns (after it, they stop)."""
    stop = threading.Event()
    threads = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    try:
        until()
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)


def _stored(out: Path) -> tuple[collections.Counter[int], collections.Counter[int]]:
    """First span ids of the stored requests (counted) and rows per writer pid."""
    paths = without_sealed_duplicates(
        [p for p in (out / "traces").rglob("*") if p.suffix in DATA_SUFFIXES]
    )
    ids: collections.Counter[int] = collections.Counter()
    per_pid: collections.Counter[int] = collections.Counter()
    for path in paths:
        if path.suffix == ".parquet":
            table = pq.read_table(path, columns=["span_id"])
        else:
            with pa.OSFile(str(path)) as source:
                table = pa.ipc.open_stream(source).read_all().select(["span_id"])
        match = PID_IN_NAME.search(path.name)
        assert match, path.name
        per_pid[int(match.group(1))] += table.num_rows
        for span_id in table.column("span_id").to_pylist():
            value = struct.unpack(">Q", span_id)[0]
            if (value - 1) % SPANS == 0:  # the first span of a request stands for it
                ids[value] += 1
    return ids, per_pid


def _count(clients: list[Client]) -> int:  # acknowledged requests
    return sum(len(c.acked) for c in clients)


@needs_reuseport
def test_two_workers_share_the_ports_and_store_each_acknowledged_span_once(
    tmp_path: Path,
) -> None:
    out = tmp_path / "data"
    serve = Serve(out, "--workers", "2", "--viewer", "0")
    assert len(serve.pids) == 2
    viewer = int(serve.wait_for(r"web viewer on http://\S+:(\d+)/").group(1))
    with urllib.request.urlopen(f"http://127.0.0.1:{viewer}/", timeout=10) as response:
        assert response.status == 200  # one viewer, in the supervisor
    serve.proc.send_signal(signal.SIGHUP)  # forwarded: the workers re-read TLS (none here)
    metrics = f"http://127.0.0.1:{serve.http_port}/metrics"
    with urllib.request.urlopen(metrics, timeout=10) as response:  # the worker that accepted
        assert re.search(r'^otlp_arrow_ready\{worker="[01]"\} 1$', response.read().decode(), re.M)
    clients = _clients(serve, 8, move_on=True)  # on a busy machine a request may time out

    def until_enough_then_sigterm() -> None:
        while _count(clients) < 240:
            time.sleep(0.05)
        assert serve.stop() == 0  # while the clients still send: the workers drain

    _run(clients, until_enough_then_sigterm)
    ids, per_pid = _stored(out)
    acked = {first for c in clients for first in c.acked}
    sent = {first for c in clients for first in c.sent}
    assert acked <= set(ids), f"{len(acked - set(ids))} acknowledged requests lost"
    assert set(ids) <= sent
    assert max(ids.values()) == 1, "a request stored twice"
    assert set(per_pid) == set(serve.pids) and min(per_pid.values()) > 0, per_pid  # both wrote
    assert "restarting" not in serve.log  # SIGHUP did not kill a worker
    assert "stopped; everything received is in" in serve.log


@needs_reuseport
def test_workers_on_every_address_warn_once_naming_the_viewer(tmp_path: Path) -> None:
    serve = Serve(tmp_path / "data", "--workers", "2", "--viewer", "0", "--host", "0.0.0.0")
    try:
        serve.wait_for(r"web viewer on http://\S+ \(listening on 0\.0\.0\.0\)")
    finally:
        assert serve.stop() == 0
    warned = [line for line in serve.log.splitlines() if "without TLS" in line]
    assert len(warned) == 1, warned  # from the supervisor, not once per worker
    assert "send data" in warned[0] and "/metrics" in warned[0] and "viewer" in warned[0]


@needs_reuseport
def test_a_killed_worker_is_restarted_and_no_acknowledged_span_is_lost(tmp_path: Path) -> None:
    out = tmp_path / "data"
    serve = Serve(out, "--workers", "2")
    clients = _clients(serve, 6, retry=True)
    victim = serve.pids[0]

    def kill_one_then_continue() -> None:
        while _count(clients) < 60:
            time.sleep(0.05)
        os.kill(victim, signal.SIGKILL)
        restarted = serve.wait_for(r"worker (\d+) restarted \(pid (\d+)\)")
        assert int(restarted.group(2)) not in serve.pids
        target = _count(clients) + 60
        while _count(clients) < target:
            time.sleep(0.05)

    _run(clients, kill_one_then_continue)
    assert serve.stop() == 0
    assert re.search(rf"worker \d \(pid {victim}\) exited \(killed by SIGKILL\)", serve.log)
    ids, per_pid = _stored(out)
    acked = {first for c in clients for first in c.acked}
    assert acked <= set(ids), f"{len(acked - set(ids))} acknowledged requests lost"
    assert victim in per_pid and len(per_pid) == 3  # the dead worker, its successor, the other


@needs_reuseport
def test_workers_drain_and_exit_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    out = tmp_path / "data"
    serve = Serve(out, "--workers", "2")
    clients = _clients(serve, 4)

    def until_enough_then_kill_the_supervisor() -> None:
        while _count(clients) < 40:
            time.sleep(0.05)
        serve.proc.kill()
        serve.proc.wait(30)
        deadline = time.monotonic() + 90
        while any(_alive(pid) for pid in serve.pids):
            assert time.monotonic() < deadline, "workers left running without a supervisor"
            time.sleep(0.1)

    _run(clients, until_enough_then_kill_the_supervisor)
    serve.wait_for(r"\A\Z")  # the end of the log: every worker closed its standard error
    ids, _ = _stored(out)
    acked = {first for c in clients for first in c.acked}
    assert acked <= set(ids), f"{len(acked - set(ids))} acknowledged requests lost"
    assert serve.log.count("otlp-arrow stopped; everything received is in") == 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")  # a zombie waiting for its new parent is gone too
    return not (status.exists() and status.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_without_so_reuseport_workers_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(supervisor_module, "reuseport_available", lambda: False)
    code = main(["serve", "--workers", "2", "--output-dir", str(tmp_path), "--grpc-port", "0"])
    assert code == 1
    error = capsys.readouterr().err
    assert "workers=2" in error and "SO_REUSEPORT" in error and "set workers to 1" in error
    with pytest.raises(ConfigError, match="workers=3"):
        Service(output_dir=tmp_path, workers=3, grpc_port=0, http_port=0)
    Service(output_dir=tmp_path, workers=1, grpc_port=0, http_port=None).start().stop()


@needs_reuseport
def test_a_worker_that_cannot_listen_fails_serve(tmp_path: Path) -> None:
    with socket.socket() as taken:  # listening without SO_REUSEPORT: nobody may share it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exe = shutil.which("otlp-arrow", path=sysconfig.get_path("scripts"))
        assert exe is not None
        args = ["--workers", "2", "--grpc-port", str(port), "--http-port", "0"]
        done = subprocess.run(
            [exe, "serve", "--output-dir", str(tmp_path), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert re.search(r"worker \d could not start \(exit code 1\)", done.stderr), done.stderr
    assert f"cannot listen for OTLP/gRPC on 127.0.0.1:{port}" in done.stderr


def _config(tmp_path: Path, workers: int = 2) -> Config:
    return Config.load(output_dir=tmp_path, workers=workers, grpc_port=0, http_port=None)


def _fake(code: str) -> tuple[str, ...]:
    """A stand-in worker: waits for its task, then runs ``code``."""
    return (sys.executable, "-c", f"import sys; sys.stdin.buffer.read(1); {code}")


@needs_reuseport
def test_a_worker_that_keeps_exiting_is_restarted_with_back_off(tmp_path: Path) -> None:
    supervisor = Supervisor(
        _config(tmp_path), command=_fake("print('ready', flush=True); sys.exit(4)")
    ).start()
    try:
        slot = supervisor.slots[0]
        while slot.restarts < 3:
            supervisor.check(time.monotonic())
            time.sleep(0.02)
        assert slot.failures >= 3 and len(slot.pids) == 4
        assert supervisor.slots[1].restarts >= 1
    finally:
        supervisor.stop()
    started = len(slot.pids)
    supervisor.check(time.monotonic() + 3600)  # stopped: nothing is restarted any more
    assert len(slot.pids) == started


@needs_reuseport
def test_start_fails_when_a_worker_exits_or_stays_silent(tmp_path: Path) -> None:
    with pytest.raises(ReceiverError, match=r"worker 0 could not start \(exit code 3\)"):
        Supervisor(_config(tmp_path), command=_fake("sys.exit(3)")).start()
    silent = Supervisor(_config(tmp_path), command=_fake("import time; time.sleep(60)"))
    with pytest.raises(ReceiverError, match=r"did not start within 0.5s"):
        silent.start_timeout_s = 0.5
        silent.grace_s = 0
        silent.start()
    assert all(code is not None for code in silent.exit_codes)  # stopped, not left running


def test_worker_label_on_every_sample() -> None:
    text = '# HELP a x\n# TYPE a counter\na{signal="traces"} 3\nb 1\n'
    assert prometheus.with_labels(text, {"worker": "1"}) == (
        '# HELP a x\n# TYPE a counter\na{worker="1",signal="traces"} 3\nb{worker="1"} 1\n'
    )


def test_helpers() -> None:
    assert worker_dir(Path("spool"), 3) == Path("spool") / "worker-3"
    assert reserve_port("127.0.0.1", 4317) == (4317, None)
    assert reserve_port("127.0.0.1", None) == (None, None)
    assert supervisor_module._describe(-9) == "killed by SIGKILL"
    assert supervisor_module._describe(-1000) == "killed by signal 1000"
    assert supervisor_module._describe(2) == "exit code 2"


@needs_reuseport
def test_port_zero_is_reserved_for_the_workers() -> None:
    port, held = reserve_port("127.0.0.1", 0)
    assert held is not None and port
    with held, socket.socket() as other:  # a worker: SO_REUSEPORT, same port, listening
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", port))
        other.listen()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the reservation does not listen: connections reach the worker
    with pytest.raises(ReceiverError, match=r"cannot find a free port on 192\.0\.2\.1"):
        reserve_port("192.0.2.1", 0)  # TEST-NET-1: no interface of this machine has it

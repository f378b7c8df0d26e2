"""The server path end to end: spans acknowledged per *server CPU-second*, files written and sealed.

    PYTHONPATH=. .venv/bin/python benches/bench_serve.py [--quick] [--rounds N]
        [--protocols grpc,http,json] [--collector PATH-TO-otelcol]

A real ``otlp-arrow serve`` subprocess (default settings: ``durability: written``, IPC files
sealed to Parquet when they close) is driven by several client processes sending
pre-serialized requests of 512 standard spans (12 mixed attributes and one event per span,
tests/sample.py) over OTLP/gRPC, OTLP/HTTP protobuf and OTLP/HTTP JSON, on kept-alive
connections. Reported per run: spans acknowledged per CPU-second of the server (user + sys of
the process and its children, from the moment it listens until it has exited, i.e. including
the shutdown that closes and seals every file), spans/s, p50/p99 request latency, and the check
that every acknowledged span is stored: the rows of the files left after shutdown are counted
and must equal the acknowledged spans, all of them in Parquet. Then the run's sealed files are
compacted as ``serve``'s compactor would once their hour has ended (``+compact``: spans per
CPU-second counting that too, the steady state of a loaded server; the rows are counted after
it), since under load every span's file is small enough to be merged once.

The peer: the OpenTelemetry Collector's published per-core figure (printed with its source), and,
with ``--collector``, a Collector measured in the same run with the same clients, each of our
runs followed by its run (OTLP receiver, batch processor, file exporter in proto format, whose
file is counted too; ``scripts/build-collector.sh`` builds one from ``tools/collector``, which
prints its path). Linux only (reads /proc, uses wait4).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import pyarrow.parquet as pq
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from tests import sample

from otlp_arrow import malloc
from otlp_arrow.otlp import json_wire
from otlp_arrow.storage import compact, reader
from otlp_arrow.storage.layout import SUFFIX

SPANS = 512
T0 = 1_764_000_000 * 10**9
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#: The Collector's own published figure, the fixed peer when no Collector is measured here.
COLLECTOR_PER_CORE = (137_000, 160_000)
COLLECTOR_SOURCE = (
    "OpenTelemetry Collector performance docs / testbed load tests, OTLP in -> OTLP out, "
    "as cited in issue #11 (opentelemetry.io/docs/collector/benchmarks)"
)
PROTOCOLS = ("grpc", "http", "json")
HTTP_PORT = ("--http-port", "0")
#: ``--unsealed``: the same server keeping its stream files (no Parquet), uncompressed
UNSEALED = {"OTLP_ARROW_SEAL": "off", "OTLP_ARROW_COMPRESSION": "none"}


def payloads(protocol: str, count: int, seed: int) -> list[bytes]:
    bodies = []
    for i in range(count):
        request = sample.traces(SPANS, start_ns=T0 + i * 10**9, seed=seed * 1000 + i)
        bodies.append(
            json_wire.encode_request(request) if protocol == "json" else request.SerializeToString()
        )
    return bodies


def client(
    protocol: str, port: int, requests: int, seed: int, start: Any, out: Any
) -> None:  # pragma: no cover - a load generator
    """Sends ``requests`` requests on one connection once ``start`` is set; puts
    (latencies, acknowledged spans, refused requests) on ``out``."""
    bodies = payloads(protocol, min(requests, 16), seed)
    latencies: list[float] = []
    acked = refused = 0
    call: Any = None
    if protocol == "grpc":
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        call = channel.unary_unary(EXPORT)
        grpc.channel_ready_future(channel).result(timeout=30)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        kind = "application/json" if protocol == "json" else "application/x-protobuf"
        headers = {"Content-Type": kind}
    start.wait()
    for i in range(requests):
        body = bodies[i % len(bodies)]
        t = time.perf_counter()
        if protocol == "grpc":
            try:
                answer = call(body, timeout=120)
            except grpc.RpcError:
                refused += 1
                answer = None
            if answer is not None:
                rejected = ExportTraceServiceResponse.FromString(answer).partial_success
                acked += SPANS - rejected.rejected_spans
        else:
            conn.request("POST", "/v1/traces", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status == 200:
                if protocol == "json":
                    rejected_spans = int(
                        re.search(rb'"rejectedSpans"\s*:\s*"?(\d+)', data).group(1)  # type: ignore[union-attr]
                        if b"rejectedSpans" in data
                        else 0
                    )
                else:
                    rejected_spans = ExportTraceServiceResponse.FromString(
                        data
                    ).partial_success.rejected_spans
                acked += SPANS - rejected_spans
            else:
                refused += 1
        latencies.append(time.perf_counter() - t)
    out.put((latencies, acked, refused))


def _cpu_seconds(pid: int) -> float:
    """user + sys of ``pid`` and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``otlp-arrow serve`` (or a Collector) as a subprocess; CPU from listening to exit."""

    def __init__(
        self, out: Path, collector: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.out = out
        if collector is None:
            exe = Path(sys.executable).with_name("otlp-arrow")
            self.proc = subprocess.Popen(
                [str(exe), "serve", "--output-dir", str(out), "--grpc-port", "0", *HTTP_PORT],
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, **(env or {})},
            )
            self.ports = self._ports_from_log()
        else:
            self.ports = {"grpc": _free_port(), "http": _free_port()}
            config = out / "collector.yaml"
            config.write_text(_collector_config(self.ports, out / "traces.pb"))
            # its log to a file, not a pipe: stop() closes the pipe, and Go dies of SIGPIPE
            # writing its shutdown lines there, before the last batch is in the file
            with (out / "collector.log").open("w") as log:
                self.proc = subprocess.Popen(
                    [collector, "--config", str(config)], stderr=log, text=True
                )
            self._wait_listening()
        self.cpu_at_start = _cpu_seconds(self.proc.pid)

    def _ports_from_log(self) -> dict[str, int]:
        assert self.proc.stderr is not None
        ports: dict[str, int] = {}
        while len(ports) < 2:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("server did not start")
            match = re.search(r"OTLP/(gRPC|HTTP) listening on [^:]+:(\d+)", line)
            if match:
                ports[match.group(1).lower()] = int(match.group(2))
        return ports

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 60
        for port in self.ports.values():
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise RuntimeError("collector did not start") from None
                    time.sleep(0.1)

    def stop(self) -> float:
        """SIGTERM, wait for the exit (files closed and sealed); CPU-seconds since listening."""
        self.proc.send_signal(signal.SIGTERM)
        if self.proc.stderr is not None:  # nothing more is read: never block on a full pipe
            self.proc.stderr.close()
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return usage.ru_utime + usage.ru_stime - self.cpu_at_start


def _collector_config(ports: dict[str, int], path: Path) -> str:
    return f"""receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{ports["grpc"]}"}}
      http: {{endpoint: "127.0.0.1:{ports["http"]}"}}
processors:
  batch: {{}}
exporters:
  file: {{path: "{path}", format: proto}}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [file]}}
"""


def stored_rows(out: Path) -> tuple[int, int]:
    """(rows in Parquet files, rows in IPC files still unsealed) under ``out``."""
    sealed = sum(pq.ParquetFile(p).metadata.num_rows for p in out.rglob("*.parquet"))
    unsealed = sum(reader.count_rows(p) or 0 for p in out.rglob(f"*{SUFFIX}"))
    return sealed, unsealed


def collector_rows(path: Path) -> int:
    """Spans in the Collector's file exporter output (``format: proto``: each batch a 4-byte
    big-endian length, then the serialized ``TracesData``, which parses as a request)."""
    data = path.read_bytes() if path.exists() else b""
    spans = at = 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        request = ExportTraceServiceRequest.FromString(data[at + 4 : at + 4 + size])
        spans += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        at += 4 + size
    return spans


def compaction_cpu(out: Path) -> float:
    """CPU-seconds of compacting what the server left (what ``otlp-arrow compact --all``
    does), in a child process with its memory tuned as ``serve``'s: the work ``serve``'s
    compactor does for these rows once their hour has ended, which a server under load pays
    too. About 0 when there is nothing to merge (one sealed file, or files already large)."""
    queue: Any = multiprocessing.Queue()
    child = multiprocessing.Process(target=_compact, args=(out, queue))
    child.start()
    cpu = float(queue.get())
    child.join()
    return cpu


def _compact(out: Path, queue: Any) -> None:  # pragma: no cover - in a child process
    malloc.tune()
    started = time.process_time()
    compact.compact_all(out, settle_s=None, grace_s=0)
    queue.put(time.process_time() - started)


def idle_cpu() -> float:
    """CPU-seconds of a server that listens for 2 s and stops (counted in every run)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        time.sleep(2)
        return server.stop()


def run(
    protocol: str,
    clients: int,
    requests: int,
    collector: str | None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        server = Server(out, collector, env)
        try:
            port = server.ports["grpc" if protocol == "grpc" else "http"]
            start: Any = multiprocessing.Event()
            queue: Any = multiprocessing.Queue()
            workers = [
                multiprocessing.Process(
                    target=client, args=(protocol, port, requests, n, start, queue)
                )
                for n in range(clients)
            ]
            for worker in workers:
                worker.start()
            time.sleep(0.5 + 0.1 * requests / 16)  # clients build their requests meanwhile
            server.cpu_at_start = _cpu_seconds(server.proc.pid)
            t0 = time.perf_counter()
            start.set()
            results = [queue.get() for _ in workers]
            elapsed = time.perf_counter() - t0
            for worker in workers:
                worker.join()
        finally:
            cpu = server.stop()
        compact_cpu = 0.0 if collector or env else compaction_cpu(out)
        sealed, unsealed = (collector_rows(out / "traces.pb"), 0) if collector else stored_rows(out)
    latencies = sorted(x for lat, _, _ in results for x in lat)
    acked = sum(a for _, a, _ in results)
    return {
        "acked": acked,
        "spans_per_cpu_s": acked / cpu,
        "spans_per_s": acked / elapsed,
        "cpu_s": cpu,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1e3,
        "refused": sum(r for _, _, r in results),
        "sealed": sealed,
        "unsealed": unsealed,
        "compact_cpu_s": compact_cpu,
        "spans_per_cpu_s_compacted": acked / (cpu + compact_cpu),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--requests", type=int, default=0, help="per client (0: by --quick)")
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    parser.add_argument("--collector", help="an otelcol binary, measured in the same run")
    parser.add_argument(
        "--unsealed",
        action="store_true",
        help="also run the server with seal: off and uncompressed streams (what sealing costs)",
    )
    args = parser.parse_args()
    requests = args.requests or (20 if args.quick else 100)
    protocols = [p for p in args.protocols.split(",") if p]
    print(
        f"python {sys.version.split()[0]}; {args.clients} client processes x {requests} "
        f"requests of {SPANS} spans; {args.rounds} round(s); load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"\n{'server':<11} {'protocol':<10} {'spans/CPU-s':>12} {'+compact':>9} {'spans/s':>9} "
        f"{'CPU s':>6} {'p50 ms':>7} {'p99 ms':>7} {'refused':>7}  stored"
    )
    failed = False
    names = {"grpc": "gRPC", "http": "HTTP/proto", "json": "HTTP/JSON"}
    servers: list[tuple[str, str | None, dict[str, str] | None]] = [("otlp-arrow", None, None)]
    if args.unsealed:
        servers.append(("unsealed", None, UNSEALED))
    if args.collector:
        servers.append(("collector", args.collector, None))
    rates: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for protocol in protocols:
            for name, binary, env in servers:
                r = run(protocol, args.clients, requests, binary, env)
                rates.setdefault((name, protocol), []).append(r["spans_per_cpu_s"])
                compacted = f"{r['spans_per_cpu_s_compacted']:,.0f}" if r["compact_cpu_s"] else "-"
                if binary:
                    ok = r["sealed"] == r["acked"]
                    failed |= not ok
                    stored = f"{r['sealed']:,} in its file" + (
                        " = acked" if ok else f"  MISMATCH: {r['acked']:,} acked"
                    )
                else:
                    stored_rows = r["sealed"] + (r["unsealed"] if env else 0)
                    ok = stored_rows == r["acked"] and (env is not None or r["unsealed"] == 0)
                    failed |= not ok
                    stored = (
                        f"{stored_rows:,} {'in streams' if env else 'sealed'}"
                        + (" = acked" if ok else "")
                        + (f", {r['unsealed']:,} unsealed" if r["unsealed"] and not env else "")
                        + ("" if ok else f"  MISMATCH: {r['acked']:,} acked")
                    )
                print(
                    f"{name:<11} {names[protocol]:<10} {r['spans_per_cpu_s']:>12,.0f} "
                    f"{compacted:>9} {r['spans_per_s']:>9,.0f} {r['cpu_s']:>6.2f} "
                    f"{r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['refused']:>7}  {stored}",
                    flush=True,
                )
    print(
        "\n+compact: spans per CPU-second counting also the compaction of the run's sealed "
        "files (in a child process tuned as serve is: serve's compactor does it once their hour "
        "has ended)"
    )
    print(
        f"(every run includes the server's start-up-to-exit fixed cost: a server that listens "
        f"for 2 s and stops spends {idle_cpu():.2f} CPU-s from listening to exit)"
    )
    if args.collector:
        print("otlp-arrow / collector, spans per CPU-second, each run against its pair:")
        for protocol in protocols:
            ours, peer = rates[("otlp-arrow", protocol)], rates[("collector", protocol)]
            pairs = zip(ours, peer, strict=True)
            ratios = ", ".join(f"{a / b:.2f}x" for a, b in pairs)
            print(f"  {names[protocol]:<10} {ratios}")
    low, high = COLLECTOR_PER_CORE
    print(
        f"peer: the OpenTelemetry Collector's published figure, {low:,}-{high:,} spans/s per "
        f"core ({COLLECTOR_SOURCE}); targets: >= 300,000 spans/CPU-s over gRPC and HTTP "
        "protobuf, >= 150,000 over HTTP JSON"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""End-to-end ingest of a running ``otlp-arrow serve``, against the SDK's own encode rate.

    .venv/bin/python benches/bench_receiver.py [--quick]

Load generators in separate processes send the standard workload (requests of 512 spans, see
benches/bench_convert.py) over OTLP/gRPC and over OTLP/HTTP protobuf, once per ``durability``
(buffered: acknowledged in memory; written: in the file; synced: fsync'd). Reported:
spans/s accepted *and durably written* (the server's ``/metrics`` says when every row is in a
file), the server's CPU time per span, and p50/p99 request latency. In the same run: how many
spans/s the Python SDK encodes with the official OTLP encoder on this machine, and the
server's peak memory (RSS) while clients send into a small buffer faster than it is written.
Linux only (it reads the server's CPU time and RSS from /proc).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import grpc
from tests import sample

SPANS = 512
T0 = 1_764_000_000 * 10**9
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def payloads(count: int, seed: int) -> list[bytes]:
    return [
        sample.traces(SPANS, start_ns=T0 + i * 10**9, seed=seed * 1000 + i).SerializeToString()
        for i in range(count)
    ]


def client(protocol: str, port: int, requests: int, seed: int, out: Any) -> None:
    """One load generator: sends ``requests`` requests, puts its latencies on ``out``."""
    bodies = payloads(min(requests, 20), seed)
    latencies = []
    refused = 0
    if protocol == "grpc":
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        call = channel.unary_unary(EXPORT)
    for i in range(requests):
        body = bodies[i % len(bodies)]
        start = time.perf_counter()
        try:
            if protocol == "grpc":
                call(body, timeout=60)
            else:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/traces",
                    data=body,
                    method="POST",
                    headers={"Content-Type": "application/x-protobuf"},
                )
                urllib.request.urlopen(request, timeout=60).close()
        except (grpc.RpcError, urllib.error.HTTPError):
            refused += 1
        latencies.append(time.perf_counter() - start)
    out.put((latencies, refused))


class Server:
    def __init__(self, out: Path, env: dict[str, str] | None = None) -> None:
        exe = Path(sys.executable).with_name("otlp-arrow")
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--output-dir", str(out), "--grpc-port", "0", "--http-port", "0"],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        assert self.proc.stderr is not None
        self.ports: dict[str, int] = {}
        while len(self.ports) < 2:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("server did not start")
            match = re.search(r"OTLP/(gRPC|HTTP) listening on [^:]+:(\d+)", line)
            if match:
                self.ports[match.group(1).lower()] = int(match.group(2))

    def metric(self, name: str) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['http']}/metrics") as r:
            text = r.read().decode()
        return sum(
            float(v)
            for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, flags=re.MULTILINE)
        )

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def run_load(protocol: str, clients: int, requests: int, durability: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        server = Server(Path(out), {"OTLP_ARROW_DURABILITY": durability})
        try:
            port = server.ports[protocol]
            queue: Any = multiprocessing.Queue()
            cpu0 = server.cpu_seconds()
            start = time.perf_counter()
            workers = [
                multiprocessing.Process(target=client, args=(protocol, port, requests, n, queue))
                for n in range(clients)
            ]
            for worker in workers:
                worker.start()
            results = [queue.get() for _ in workers]
            for worker in workers:
                worker.join()
            total = clients * requests * SPANS
            while server.metric("otlp_arrow_rows_written_total") < total:
                time.sleep(0.01)
            elapsed = time.perf_counter() - start
            cpu = server.cpu_seconds() - cpu0
        finally:
            server.stop()
    latencies = sorted(x for lat, _ in results for x in lat)
    return {
        "spans_per_s": total / elapsed,
        "spans_per_cpu_s": total / cpu,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1e3,
        "refused": sum(r for _, r in results),
    }


def sdk_encode_rate() -> float:
    sys.path.insert(0, str(Path(__file__).parent))
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from bench_exporters import standard_spans

    spans = standard_spans(random.Random(7))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        encode_spans(spans).SerializeToString()
        best = min(best, time.perf_counter() - start)
    return len(spans) / best


def overload(quick: bool) -> tuple[float, int]:
    """Peak RSS while 4 clients send faster than the server writes: a 32 MiB buffer written
    only every 5 s, so it fills up and clients are told to back off."""
    slow = {
        "OTLP_ARROW_DURABILITY": "buffered",  # acknowledged in memory: the buffer fills up
        "OTLP_ARROW_MAX_BUFFER_BYTES": "32MiB",
        "OTLP_ARROW_WRITE_INTERVAL": "5s",
        "OTLP_ARROW_BATCH_ROWS": "10000000",
    }
    with tempfile.TemporaryDirectory() as out:
        server = Server(Path(out), slow)
        try:
            queue: Any = multiprocessing.Queue()
            workers = [
                multiprocessing.Process(
                    target=client,
                    args=("grpc", server.ports["grpc"], 20 if quick else 60, n, queue),
                )
                for n in range(4)
            ]
            for worker in workers:
                worker.start()
            refused = sum(queue.get()[1] for _ in workers)
            for worker in workers:
                worker.join()
            return server.peak_rss_mib(), refused
        finally:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    clients, requests = (2, 20) if quick else (3, 60)
    print(
        f"python {sys.version.split()[0]}; {clients} client processes x {requests} requests "
        f"of {SPANS} spans per protocol"
    )
    print(
        f"\n{'protocol':<9} {'durability':<11} {'spans/s written':>16} {'spans/CPU-s':>12} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'refused':>8}"
    )
    for protocol in ("grpc", "http"):
        for durability in ("buffered", "written", "synced"):
            r = run_load(protocol, clients, requests, durability)
            print(
                f"{protocol:<9} {durability:<11} {r['spans_per_s']:>16,.0f} "
                f"{r['spans_per_cpu_s']:>12,.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
                f"{r['refused']:>8.0f}"
            )
    print(
        f"\nthe Python SDK's official OTLP encoder on this machine: "
        f"{sdk_encode_rate():,.0f} spans/s (one core)"
    )
    rss, refused = overload(quick)
    print(
        f"overload (4 gRPC clients, 32 MiB buffer written every 5 s): peak server RSS "
        f"{rss:,.0f} MiB, {refused} requests refused with RESOURCE_EXHAUSTED (clients retry)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

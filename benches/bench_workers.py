"""Ingest with ``serve --workers 1`` against ``serve --workers 2`` on this machine.

    PYTHONPATH=. .venv/bin/python benches/bench_workers.py [--quick]

Load generators in separate processes send the standard workload (requests of 512 spans,
``tests/sample.py``) over OTLP/gRPC, each client on several connections of its own (the
kernel spreads *connections* over the workers with ``SO_REUSEPORT``), to a ``serve`` with the
default ``durability: written``: an acknowledged request is in a file, so spans/s acknowledged
is spans/s written. The two configurations alternate (1, 2, 1, 2, ...) so that a change in
the machine's load hits both; the best round of each and the ratio are printed. The clients
run on the same cores as the server: on a small machine they take part of what a second
worker could use.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc
from tests import sample

SPANS = 512
T0 = 1_764_000_000 * 10**9
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def client(port: int, connections: int, requests: int, seed: int, start: Any, out: Any) -> None:
    """One load generator: ``requests`` requests over ``connections`` connections (one
    thread each), started together with the others; puts (acknowledged, refused) on ``out``."""
    bodies = [
        sample.traces(SPANS, start_ns=T0 + i * 10**9, seed=seed * 100 + i).SerializeToString()
        for i in range(10)
    ]
    counts = [0, 0]
    lock = threading.Lock()

    def send(n: int) -> None:
        options = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own
        with grpc.insecure_channel(f"127.0.0.1:{port}", options) as channel:
            call = channel.unary_unary(EXPORT)
            call(bodies[0], timeout=60)  # connected before the clock starts
            start.wait()
            for i in range(requests // connections):
                try:
                    call(bodies[(n + i) % len(bodies)], timeout=60)
                    ok = 0
                except grpc.RpcError:
                    ok = 1
                with lock:
                    counts[ok] += 1

    threads = [threading.Thread(target=send, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(tuple(counts))


class Serve:
    def __init__(self, out: Path, workers: int) -> None:
        exe = Path(sys.executable).with_name("otlp-arrow")
        args = ["--grpc-port", "0", "--http-port", "off", "--workers", str(workers)]
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--output-dir", str(out), *args],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OTLP_ARROW_SEAL": "off"},  # sealing is not ingest
        )
        assert self.proc.stderr is not None
        while True:  # one worker: its "writing to" line; more: the supervisor's "ready"
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("serve did not start")
            match = re.search(r"OTLP/gRPC (?:listening on [^:]+:)?(\d+)", line)
            if match:
                self.port = int(match.group(1))
            if ("writing to" in line and workers == 1) or "workers ready" in line:
                break
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # drain the log

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(120)


def run(workers: int, clients: int, connections: int, requests: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        serve = Serve(Path(out), workers)
        try:
            start: Any = multiprocessing.Event()
            queue: Any = multiprocessing.Queue()
            procs = [
                multiprocessing.Process(
                    target=client, args=(serve.port, connections, requests, n, start, queue)
                )
                for n in range(clients)
            ]
            for proc in procs:
                proc.start()
            time.sleep(2)  # every client connected and waiting
            began = time.perf_counter()
            start.set()
            results = [queue.get() for _ in procs]
            elapsed = time.perf_counter() - began
            for proc in procs:
                proc.join()
        finally:
            serve.stop()
    refused = sum(r for _, r in results)
    if refused:
        print(f"  ({refused} requests refused with --workers {workers})")
    return sum(ok for ok, _ in results) * SPANS / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    clients, connections, requests, rounds = (3, 2, 20, 1) if quick else (4, 2, 60, 3)
    print(
        f"python {sys.version.split()[0]}; {os.cpu_count()} cores; {clients} client processes "
        f"x {connections} connections, {clients * requests} requests of {SPANS} spans per "
        f"round, OTLP/gRPC, durability written; {rounds} rounds each, alternating; "
        f"load average before: {os.getloadavg()[0]:.1f}"
    )
    best: dict[int, float] = {1: 0.0, 2: 0.0}
    for r in range(rounds):
        for workers in (1, 2):
            rate = run(workers, clients, connections, requests)
            print(f"round {r + 1}  --workers {workers}: {rate:>10,.0f} spans/s")
            best[workers] = max(best[workers], rate)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(
        f"\nbest: --workers 1 {best[1]:,.0f} spans/s, --workers 2 {best[2]:,.0f} spans/s: "
        f"{best[2] / best[1]:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

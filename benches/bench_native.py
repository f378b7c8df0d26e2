"""The native core against its peers, measured in the same run: OTLP protobuf bytes -> Arrow.

    .venv/bin/python benches/bench_native.py [--quick]

Standard workload (the one of ``bench_convert.py``): requests of 512 spans with 12 attributes
of mixed types and one event each; metric requests with points of all five types; log
requests of 512 records with attributes and trace context. Per signal, items per second of:

- ``native``: ``convert_bytes(data, signal)``, the public route for bytes (the Rust core with
  the GIL released, plus the import into pyarrow and the Python glue);
- ``core``: ``otlp_arrow._native.decode`` alone (decode + C Data Interface export);
- ``upb parse``: ``Request.FromString(data)`` of the same bytes, which builds messages only;
- ``python``: ``FromString`` then the Python converter (the route without the native core).

Then the ratios native/upb-parse and native/python, and the native rate with two threads
(the GIL is released while decoding, so threads can overlap).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from bench_convert import best_rate, workload
from otlp_arrow.convert import convert_request
from otlp_arrow.convert.native import REQUEST_TYPES, convert_bytes, uses_native


def interleaved(items: int, actions: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Items per second of each action's fastest run, the actions taking turns so that each
    meets the same machine (this VM's speed drifts from second to second)."""
    best = dict.fromkeys(actions, float("inf"))
    for action in actions.values():
        action()  # warm up
    for _ in range(repeat):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: items / seconds for name, seconds in best.items()}


def threaded_rate(items: int, wire: list[bytes], signal: str, threads: int, repeat: int) -> float:
    """Items per second when ``threads`` threads each convert all of ``wire``."""
    best = float("inf")
    for _ in range(repeat):
        barrier = threading.Barrier(threads + 1)

        def work(barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            for data in wire:
                convert_bytes(data, signal)

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for thread in pool:
            thread.start()
        barrier.wait()
        start = time.perf_counter()
        for thread in pool:
            thread.join()
        best = min(best, time.perf_counter() - start)
    return items * threads / best


#: What one row of each signal is, for the printed rates.
UNIT = {"traces": "spans", "metrics": "points", "logs": "records"}


def standard_run(doc: str) -> tuple[dict[str, list[Any]], int]:
    """The command line and header of the native benches (``--quick``): the workload's
    requests per signal, and how many rounds to keep the best of."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and repeats")
    args = parser.parse_args()
    requests, repeat = (10, 5) if args.quick else (40, 15)
    print(
        f"python {sys.version.split()[0]}, pyarrow {pa.__version__}; "
        f"{requests} requests per signal, best of {repeat}"
    )
    return workload(requests), repeat


def main() -> int:
    data, repeat = standard_run(__doc__)
    print(
        f"\n{'signal':<8} {'native /s':>12} {'core /s':>12} {'upb parse /s':>13} "
        f"{'python /s':>11} {'native/parse':>13} {'native/python':>14} {'2 threads /s':>13}"
    )
    for signal, reqs in data.items():
        if not uses_native(signal):
            print(f"{signal:<8} (not decoded natively)")
            continue
        from otlp_arrow import _native  # type: ignore[attr-defined]

        wire = [r.SerializeToString() for r in reqs]
        request_type: Any = REQUEST_TYPES[signal]
        from_string = request_type.FromString
        items = sum(convert_bytes(b, signal).batch.num_rows for b in wire)
        rates = interleaved(
            items,
            {
                "native": lambda w=wire, s=signal: [convert_bytes(b, s) for b in w],
                "core": lambda w=wire, s=signal: [_native.decode(s, b) for b in w],
                "parse": lambda w=wire, f=from_string: [f(b) for b in w],
            },
            repeat,
        )
        native, core, parse = rates["native"], rates["core"], rates["parse"]
        python = best_rate(
            items,
            lambda w=wire, f=from_string: [convert_request(f(b)) for b in w],
            max(1, repeat // 4),
        )
        two = threaded_rate(items, wire, signal, 2, max(1, repeat // 2))
        print(
            f"{signal:<8} {native:>12,.0f} {core:>12,.0f} {parse:>13,.0f} {python:>11,.0f} "
            f"{native / parse:>12.2f}x {native / python:>13.1f}x {two:>13,.0f}   ({UNIT[signal]})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

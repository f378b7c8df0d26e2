"""OTLP/JSON -> Arrow through the native core against ``json.loads`` of the same text,
measured in the same run.

    .venv/bin/python benches/bench_json.py [--quick]

Standard workload (``bench_convert.workload``: 512-span requests with 12 mixed attributes and
one event per span, metric requests with points of all five types, 512-record log requests),
written as OTLP/JSON by ``json_wire.encode_request``. Per signal, items per second of:

- ``native``: ``convert_json(text, signal)``, the public route (transcode + decode in Rust
  with the GIL released, the import into pyarrow, the Python glue);
- ``json.loads``: the standard library parsing the same text into dicts (builds nothing else);
- ``reference``: ``json_wire.parse`` then the Python converter (the route without the core).

Then native/json.loads (the target: at least 3x) and native/reference.
"""

from __future__ import annotations

import argparse
import json
import sys

import pyarrow as pa

from bench_convert import best_rate, workload
from bench_native import interleaved
from otlp_arrow.convert.native import convert_json, convert_json_python, uses_native
from otlp_arrow.otlp import json_wire


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and repeats")
    args = parser.parse_args()
    requests, repeat = (10, 5) if args.quick else (30, 15)
    print(
        f"python {sys.version.split()[0]}, pyarrow {pa.__version__}; "
        f"{requests} OTLP/JSON requests per signal, best of {repeat}"
    )
    data = workload(requests)
    unit = {"traces": "spans", "metrics": "points", "logs": "records"}
    print(
        f"\n{'signal':<8} {'MB/request':>10} {'native /s':>12} {'json.loads /s':>14} "
        f"{'reference /s':>13} {'native/loads':>13} {'native/ref':>11}"
    )
    for signal, reqs in data.items():
        if not uses_native(signal):
            print(f"{signal:<8} (not decoded natively)")
            continue
        texts = [json_wire.encode_request(r) for r in reqs]
        items = sum(convert_json(t, signal).batch.num_rows for t in texts)
        rates = interleaved(
            items,
            {
                "native": lambda ts=texts, s=signal: [convert_json(t, s) for t in ts],
                "loads": lambda ts=texts: [json.loads(t) for t in ts],
            },
            repeat,
        )
        reference = best_rate(
            items,
            lambda ts=texts, s=signal: [convert_json_python(t, s) for t in ts],
            max(1, repeat // 5),
        )
        native, loads = rates["native"], rates["loads"]
        size = sum(map(len, texts)) / len(texts) / 1e6
        print(
            f"{signal:<8} {size:>10.2f} {native:>12,.0f} {loads:>14,.0f} {reference:>13,.0f} "
            f"{native / loads:>12.2f}x {native / reference:>10.1f}x   ({unit[signal]})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

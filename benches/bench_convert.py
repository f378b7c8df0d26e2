"""Conversion speed and size on disk, measured against peers in the same run.

    .venv/bin/python benches/bench_convert.py [--quick]

Standard workload (fixed, so numbers compare across commits): requests of 512 spans with 12
attributes of mixed types and one event each (``otlp_arrow.sample.traces``); metric requests
with points of all five types; log requests of 512 records with attributes and trace context.
Prints, per signal: OTLP protobuf -> Arrow rate and its ratio to the time ``ParseFromString``
takes for the same bytes; Arrow -> OTLP rate; then bytes per span on disk for our IPC files
(uncompressed, zstd) vs the same requests as serialized OTLP protobuf, raw and zstd.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tests import sample

from otlp_arrow import arrow_to_otlp, otlp_to_arrow

T0 = 1_764_000_000 * 10**9
BATCH = 512


def best_rate(items: int, action: Callable[[], Any], repeat: int) -> float:
    """Items per second of the fastest of ``repeat`` runs (least disturbed by the machine)."""
    action()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return items / min(times)


def workload(requests: int) -> dict[str, list[Any]]:
    traces = [sample.traces(BATCH, start_ns=T0 + i * 10**9, seed=i) for i in range(requests)]
    return {
        "traces": traces,
        "metrics": [sample.metrics(BATCH, time_ns=T0 + i * 10**9, seed=i) for i in range(requests)],
        "logs": [
            sample.logs(BATCH, start_ns=T0 + i * 10**9, seed=i, traces_request=t)
            for i, t in enumerate(traces)
        ],
    }


def bare_walk(requests: list[Any]) -> None:
    """Touch every span field and attribute value once, building nothing: the floor for any
    pure-Python converter over protobuf messages."""
    for request in requests:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    _ = (
                        span.trace_id,
                        span.span_id,
                        span.parent_span_id,
                        span.name,
                        span.kind,
                        span.start_time_unix_nano,
                        span.end_time_unix_nano,
                        span.flags,
                        span.status.code,
                    )
                    for kv in span.attributes:
                        value = kv.value
                        getattr(value, value.WhichOneof("value"))
                    for event in span.events:
                        _ = event.time_unix_nano, event.name
                        for kv in event.attributes:
                            value = kv.value
                            getattr(value, value.WhichOneof("value"))


def ipc_bytes(table: pa.Table, compression: str | None, rows_per_batch: int) -> int:
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        for batch in table.to_batches(max_chunksize=rows_per_batch):
            writer.write_batch(batch)
    return len(sink.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and repeats")
    args = parser.parse_args()
    requests, repeat = (10, 3) if args.quick else (40, 5)
    print(
        f"python {sys.version.split()[0]}, pyarrow {pa.__version__}; "
        f"{requests} requests per signal, best of {repeat}"
    )
    data = workload(requests)
    unit = {"traces": "spans", "metrics": "points", "logs": "records"}
    tables: dict[str, pa.Table] = {}
    print(
        f"\n{'signal':<8} {'OTLP->Arrow /s':>15} {'parse /s':>12} {'convert/parse':>14} "
        f"{'Arrow->OTLP /s':>15}"
    )
    for signal, reqs in data.items():
        wire = [r.SerializeToString() for r in reqs]
        parse_type = type(reqs[0])
        items = sum(otlp_to_arrow(r).num_rows for r in reqs)
        parsed = [parse_type.FromString(b) for b in wire]
        to_arrow = best_rate(items, lambda p=parsed: [otlp_to_arrow(r) for r in p], repeat)
        parse = best_rate(items, lambda w=wire, t=parse_type: [t.FromString(b) for b in w], repeat)
        converted = [otlp_to_arrow(r) for r in parsed]
        back = best_rate(
            items,
            lambda c=converted, s=signal: [arrow_to_otlp(t, s) for t in c],
            max(1, repeat // 2),
        )
        tables[signal] = pa.concat_tables(converted)
        if signal == "traces":
            walk = best_rate(items, lambda p=parsed: bare_walk(p), repeat)
            walk_ratio = walk / to_arrow
        print(
            f"{signal:<8} {to_arrow:>15,.0f} {parse:>12,.0f} {parse / to_arrow:>13.1f}x "
            f"{back:>15,.0f}   ({unit[signal]})"
        )

    print(
        f"\ntraces: a bare Python walk over the same parsed spans (touching every field and "
        f"attribute, building nothing) runs at {walk:,.0f} spans/s;\nthe conversion takes "
        f"{walk_ratio:.1f}x the walk's time."
    )
    print("\nbytes per item on disk (all requests of the signal, in one file)")
    print(
        f"{'signal':<8} {'OTLP pb':>9} {'pb+zstd':>9} {'IPC':>9} {'IPC+zstd':>9} "
        f"{'IPC+zstd/512':>13} {'Parquet+zstd':>13}  IPC+zstd vs pb+zstd"
    )
    for signal, reqs in data.items():
        table = tables[signal]
        n = table.num_rows
        wire = b"".join(r.SerializeToString() for r in reqs)
        pb = len(wire) / n
        pb_zstd = len(pa.compress(wire, codec="zstd", asbytes=True)) / n
        combined = table.combine_chunks()  # one batch, as the writer makes under load
        ipc = ipc_bytes(combined, None, n) / n
        ipc_zstd = ipc_bytes(combined, "zstd", n) / n
        ipc_zstd_small = ipc_bytes(table, "zstd", BATCH) / n  # one batch per request
        parquet = io.BytesIO()
        pq.write_table(combined, parquet, compression="zstd")
        parquet_zstd = len(parquet.getvalue()) / n
        print(
            f"{signal:<8} {pb:>9.1f} {pb_zstd:>9.1f} {ipc:>9.1f} {ipc_zstd:>9.1f} "
            f"{ipc_zstd_small:>13.1f} {parquet_zstd:>13.1f}  {ipc_zstd / pb_zstd:.2f}x "
            f"(batches of {BATCH}: {ipc_zstd_small / pb_zstd:.2f}x)"
        )
    print(
        f"\n(median per-request OTLP->Arrow latency, traces: "
        f"{statistics.median(_latencies(data['traces'])) * 1e3:.2f} ms per {BATCH} spans)"
    )
    return 0


def _latencies(requests: list[Any]) -> list[float]:
    out = []
    for request in requests:
        start = time.perf_counter()
        otlp_to_arrow(request)
        out.append(time.perf_counter() - start)
    return out


if __name__ == "__main__":
    sys.exit(main())

"""Sealed storage: bytes per item and query speed of the Parquet layout, against OTLP peers.

1. Bytes per span / point / log record of the demo shop's telemetry (``benches/shop_data.py``:
   the real shop and SDK, simulated clock): OTLP protobuf + zstd (level 3) in 1,000-item
   requests, each compressed on its own (what an exporter sends) as the peer; the old seal
   settings (zstd, 64Ki-row groups, defaults otherwise); the new layout unsorted (stream
   order) and sorted by each candidate key.
2. Per sort candidate (traces): a trace-by-id lookup and a one-minute time-range count over
   one file of ``--candidate-spans`` spans, through ``pyarrow.dataset`` (what ``connect`` uses).
3. A large store: the shop's spans replicated to ``--large`` spans (replica r: the first byte
   of every trace id set to r, so traces stay whole and distinct), sealed in small files, then
   compacted; trace lookup, p99 duration per service and errors per span name through
   ``otlp_arrow.connect``, against DuckDB over OTLP JSON Lines of the same spans (one
   1,000-span request per line).
4. ``--big N``: N spans written straight as compaction leaves them (sorted files of ~3.5M
   spans), and the same three questions through ``connect`` alone.

Usage: ``PYTHONPATH=. .venv/bin/python benches/bench_storage.py [--spans N] [--large N]``.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from benches.shop_data import cached

from otlp_arrow.convert import arrow_to_otlp
from otlp_arrow.otlp.json_wire import encode_request
from otlp_arrow.storage import compact
from otlp_arrow.storage import parquet_format as fmt

REQUEST = 1000
CANDIDATES: dict[str, tuple[str, ...]] = {
    "service": ("service_name",),
    "name": ("name",),
    "trace_id": ("trace_id",),
    "start_time": ("start_time",),
    "service,name,start": ("service_name", "name", "start_time"),
    "service,start": ("service_name", "start_time"),
    "service,trace_id,start": ("service_name", "trace_id", "start_time"),
    "trace_id,start": ("trace_id", "start_time"),
}


def best(action: Callable[[], Any], repeat: int = 5) -> float:
    return timed(action, repeat)[0]


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The best time of ``repeat`` runs of ``action``, and its (last) result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return min(times), result


def otlp_zstd(table: pa.Table, signal: str) -> int:
    total = 0
    codec = pa.Codec("zstd", compression_level=3)
    for start in range(0, table.num_rows, REQUEST):
        wire = arrow_to_otlp(table.slice(start, REQUEST), signal).SerializeToString()
        total += len(codec.compress(wire, asbytes=True))
    return total


def parquet_bytes(table: pa.Table, signal: str, layout: str, keys: tuple[str, ...] = ()) -> int:
    sink = io.BytesIO()
    if layout == "old":
        pq.write_table(table, sink, compression="zstd", row_group_size=65_536)
        return len(sink.getvalue())
    if keys:
        table = sort_by(table, keys) if signal == "traces" else fmt.sort_rows(table, signal)
    level = fmt.COMPACT_ZSTD_LEVEL if layout == "compacted" else fmt.ZSTD_LEVEL
    fmt.write_table(sink, table, signal, level)
    return len(sink.getvalue())


def sort_by(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    saved = dict(fmt.SORT_KEYS)
    fmt.SORT_KEYS["traces"] = keys  # (the sort order recorded in the footer is not used here)
    try:
        return fmt.sort_rows(table, "traces")
    finally:
        fmt.SORT_KEYS.update(saved)


def sizes(tables: dict[str, pa.Table]) -> None:
    print(f"\n## bytes per item (OTLP pb+zstd in {REQUEST}-item requests as the peer)")
    print(f"{'signal':<8} {'items':>8} {'layout':<28} {'B/item':>8} {'vs pb+zstd':>10}")
    for signal, table in tables.items():
        n = table.num_rows
        peer = otlp_zstd(table, signal) / n
        rows = [("OTLP pb+zstd", peer), ("Parquet, old seal settings", None)]
        rows[1] = (rows[1][0], parquet_bytes(table, signal, "old") / n)
        rows.append(("sealed (new, stream order)", parquet_bytes(table, signal, "new") / n))
        keys = fmt.SORT_KEYS[signal]
        rows.append(("new, sorted, zstd 3", parquet_bytes(table, signal, "new", keys) / n))
        rows.append(
            (
                f"compacted (sorted, zstd {fmt.COMPACT_ZSTD_LEVEL})",
                parquet_bytes(table, signal, "compacted", keys) / n,
            )
        )
        if signal == "traces":
            for label, cand in CANDIDATES.items():
                rows.append(
                    (f"  compacted by {label}", parquet_bytes(table, signal, "compacted", cand) / n)
                )
        for label, value in rows:
            print(f"{signal:<8} {n:>8} {label:<28} {value:>8.1f} {value / peer:>9.2f}x")


def replicate(table: pa.Table, copies: int, byte: int = 0) -> list[pa.Table]:
    """``copies`` versions of the traces table with trace id byte ``byte`` (0 or 15) set to
    the copy's number (0: replicas sort apart; 15: ids stay as random as the shop's)."""
    ids = table.column("trace_id").combine_chunks()
    raw = np.frombuffer(ids.buffers()[1], dtype=np.uint8)[: 16 * len(ids)].reshape(-1, 16)
    index = table.schema.get_field_index("trace_id")
    out = []
    for r in range(copies):
        changed = raw.copy()
        changed[:, byte] = r
        array = pa.FixedSizeBinaryArray.from_buffers(
            ids.type, len(ids), [None, pa.py_buffer(changed.tobytes())]
        )
        out.append(table.set_column(index, table.schema.field(index), array))
    return out


def candidate_queries(base: pa.Table, spans: int, work: Path) -> None:
    print(f"\n## sort candidates: one file of {spans} spans, pyarrow.dataset (best of 5, ms)")
    copies = max(1, spans // base.num_rows)
    table = pa.concat_tables(replicate(base, copies))
    wanted = table.column("trace_id")[table.num_rows // 2].as_py()
    t0 = table.column("start_time")[table.num_rows // 3].value
    window = (
        pa.scalar(t0, pa.timestamp("ns", "UTC")),
        pa.scalar(t0 + 60 * 10**9, pa.timestamp("ns", "UTC")),
    )
    print("(B/span here only tells the replicas apart: they differ in one trace id byte, so a")
    print(" sort that puts copies side by side compresses them away; sizes are in part 1)")
    print(f"{'sort':<26} {'B/span':>7} {'trace lookup':>13} {'1-min range count':>18}")
    for label, keys in {"unsorted": (), **CANDIDATES}.items():
        path = work / f"cand-{label.replace(',', '_')}.parquet"
        fmt.write_table(
            path, sort_by(table, keys) if keys else table, "traces", fmt.COMPACT_ZSTD_LEVEL
        )
        data = ds.dataset(path, format="parquet")
        trace = ds.field("trace_id") == pa.scalar(wanted, pa.binary(16))
        span = (ds.field("start_time") >= window[0]) & (ds.field("start_time") < window[1])
        lookup = best(lambda d=data, f=trace: d.to_table(filter=f))  # type: ignore[misc]
        ranged = best(lambda d=data, f=span: d.count_rows(filter=f))  # type: ignore[misc]
        size = path.stat().st_size / table.num_rows
        print(f"{label:<26} {size:>7.1f} {lookup * 1e3:>13.1f} {ranged * 1e3:>18.1f}")
        path.unlink()


def jsonl(base: pa.Table, copies: int, path: Path, byte: int = 0) -> None:
    """OTLP JSON Lines of :func:`replicate`'s copies (``byte``: the same), one request a line."""
    lines = [
        encode_request(arrow_to_otlp(base.slice(s, REQUEST), "traces")).replace(b"\n", b"")
        for s in range(0, base.num_rows, REQUEST)
    ]
    text = b"\n".join(lines) + b"\n"
    pattern = re.compile(rb'"traceId":"([0-9a-f]{%d})[0-9a-f]{2}' % (2 * byte))
    with path.open("wb") as out:
        for r in range(copies):
            out.write(pattern.sub(lambda m, r=r: b'"traceId":"%s%02x' % (m[1], r), text))


PEER_SPANS = """(SELECT list_filter(rs.resource.attributes, lambda a: a.key = 'service.name')[1]
       .value.stringValue AS service_name, sp.name AS name, sp.traceId AS trace_id,
       sp.spanId AS span_id,
       CAST(sp.endTimeUnixNano AS BIGINT) - CAST(sp.startTimeUnixNano AS BIGINT) AS duration_ns,
       sp.status.code AS status_code
   FROM (SELECT unnest(resourceSpans) AS rs FROM read_json('{path}',
         format = 'newline_delimited', maximum_object_size = 1000000000)) AS r,
        LATERAL (SELECT unnest(rs.scopeSpans) AS ss) AS s,
        LATERAL (SELECT unnest(ss.spans) AS sp) AS p)"""
P99 = (
    "SELECT service_name, quantile_cont(duration_ns, 0.99) AS p99 FROM {t} "
    "GROUP BY service_name ORDER BY service_name"
)
ERRORS = (
    "SELECT name, count(*) AS errors FROM {t} WHERE status_code = 2 "
    "GROUP BY name ORDER BY errors DESC, name"
)


def large(base: pa.Table, spans: int, work: Path) -> None:
    import duckdb

    import otlp_arrow

    copies = max(1, spans // base.num_rows)
    out = work / "store"
    part = out / "traces" / "date=2026-12-01" / "hour=10"
    part.mkdir(parents=True)
    started = time.perf_counter()
    for r, table in enumerate(replicate(base, copies)):
        for k, start in enumerate(range(0, table.num_rows, 20_000)):  # one per rotation
            name = f"traces-20261201T100000Z-1-{r:04d}{k:02d}-0000000{r % 10}.parquet"
            fmt.write_table(part / name, table.slice(start, 20_000), "traces")  # as sealed
    total = copies * base.num_rows
    small = sum(p.stat().st_size for p in part.iterdir())
    sealed_s = time.perf_counter() - started
    started = time.perf_counter()
    stats = compact.compact_signal(out / "traces", settle_s=None, grace_s=0)
    compact_s = time.perf_counter() - started
    merged = sorted(part.iterdir())
    print(
        f"\n## {total} spans: {stats.files_merged} small files ({small / total:.1f} B/span, "
        f"{sealed_s:.0f} s to write) compacted in {compact_s:.0f} s into {len(merged)} files "
        f"({sum(p.stat().st_size for p in merged) / total:.1f} B/span, "
        f"{max(p.stat().st_size for p in merged) / 2**20:.0f} MiB largest)"
    )
    jsonl_path = work / "traces.jsonl"
    jsonl(base, copies, jsonl_path)
    print(f"OTLP JSON Lines: {jsonl_path.stat().st_size / total:.0f} B/span")
    wanted = bytes([copies // 2]) + base.column("trace_id")[base.num_rows // 2].as_py()[1:]
    store = otlp_arrow.connect(out)
    peer = duckdb.connect()
    peer.execute(f"CREATE VIEW spans AS SELECT * FROM {PEER_SPANS.format(path=jsonl_path)}")
    ours = {
        "trace lookup": lambda: rows(store.traces(trace_id=wanted).select(["span_id"])),
        "p99 per service": lambda: rows(store.sql(P99.format(t="traces"))),
        "errors per name": lambda: rows(store.sql(ERRORS.format(t="traces"))),
    }
    lookup = f"SELECT unhex(sp_id) FROM spans WHERE trace_id = '{wanted.hex()}'"
    theirs = {
        "trace lookup": lambda: sorted(peer.sql(lookup.replace("sp_id", "span_id")).fetchall()),
        "p99 per service": lambda: sorted(peer.sql(P99.format(t="spans")).fetchall()),
        "errors per name": lambda: sorted(peer.sql(ERRORS.format(t="spans")).fetchall()),
    }
    print(f"{'query':<18} {'connect (ms)':>13} {'DuckDB/JSONL (ms)':>18} {'ratio':>7}  answers")
    for label, action in ours.items():
        mine, answer = timed(action, 3)
        other, expected = timed(theirs[label], 1)  # seconds per run: once
        same = "same" if answer == expected else f"DIFFERENT: {answer[:3]} vs {expected[:3]}"
        print(
            f"{label:<18} {mine * 1e3:>13.0f} {other * 1e3:>18.0f} {other / mine:>6.1f}x  "
            f"{len(answer)} rows, {same}"
        )


def big(base: pa.Table, spans: int, work: Path) -> None:
    """``spans`` spans written as compaction leaves them (sorted files of ~3.5M spans, the
    128 MiB target), then the three questions through ``connect`` (no peer: its JSON Lines
    would take 544 B/span)."""
    import otlp_arrow

    copies, per_file = max(1, spans // base.num_rows), 35
    part = work / "big" / "traces" / "date=2026-12-01" / "hour=10"
    part.mkdir(parents=True)
    started = time.perf_counter()
    for first in range(0, copies, per_file):
        table = pa.concat_tables(replicate(base, min(copies, first + per_file))[first:])
        name = f"traces-20261201T100000Z-1-{first:06d}-00000000.c0000.parquet"
        fmt.write_table(part / name, fmt.sort_rows(table, "traces"), "traces", 9)
        del table
    total = copies * base.num_rows
    size = sum(p.stat().st_size for p in part.iterdir())
    print(
        f"\n## {total} spans in {len(list(part.iterdir()))} sorted files ({size / total:.1f} "
        f"B/span, {time.perf_counter() - started:.0f} s to write), through connect (best of 3)"
    )
    store = otlp_arrow.connect(work / "big")
    wanted = bytes([copies // 2]) + base.column("trace_id")[base.num_rows // 2].as_py()[1:]
    for label, action in {
        "trace lookup": lambda: store.traces(trace_id=wanted).num_rows,
        "p99 per service": lambda: store.sql(P99.format(t="traces")).num_rows,
        "errors per name": lambda: store.sql(ERRORS.format(t="traces")).num_rows,
    }.items():
        took, answer = timed(action, 3)
        print(f"{label:<18} {took * 1e3:>8.0f} ms  {answer} rows")


def rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return sorted(tuple(r.values()) for r in table.to_pylist())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=100_000, help="shop spans for sizes")
    parser.add_argument("--candidate-spans", type=int, default=500_000)
    parser.add_argument("--large", type=int, default=2_000_000, help="spans of the big store")
    parser.add_argument("--no-sizes", action="store_true", help="skip part 1")
    parser.add_argument("--big", type=int, default=0, help="spans for connect alone (4.)")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "otlp-arrow-bench"
    )
    args = parser.parse_args()
    tables = cached(args.spans, args.cache)
    print(
        f"pyarrow {pa.__version__}; shop telemetry: "
        + ", ".join(f"{t.num_rows} {s}" for s, t in tables.items())
    )
    if not args.no_sizes:
        sizes(tables)
    work = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    try:
        if args.candidate_spans:
            candidate_queries(tables["traces"], args.candidate_spans, work)
        if args.large:
            large(tables["traces"], args.large, work)
        if args.big:
            big(tables["traces"], args.big, work)
    finally:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())

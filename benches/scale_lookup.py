"""The trace lookup of ``bench_scale.py`` taken apart: where its time goes (listing the
objects, reading their footers, the row groups the statistics keep, the trace_id column alone),
and the same lookup over variants of the same spans: the objects copied to a local directory
(no S3), read by DuckDB's own Parquet reader (which reads the Bloom filters), sorted by trace
id one by one (as if sealing sorted), compacted by the product's compactor (``--compacted``).
"""

from __future__ import annotations

import argparse
import math
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from benches.bench_storage import rows, timed

BUCKET = "bench"


def say(text: str) -> None:
    print(text, flush=True)


def lookup_steps(store: Any, wanted: bytes) -> None:
    """Where a trace lookup's time goes: listing, footers, statistics, the id column."""
    sources = store.sources
    bucket = sources.bucket
    started = time.perf_counter()
    listing = sources.files("traces")
    listed = time.perf_counter() - started
    paths = [bucket.path(PurePosixPath(k.path).as_posix()) for k in listing.remote]
    footers, found = [], 0
    read_footers = id_column = 0.0
    for path in paths:  # one by one; then what a lookup reading the ids first would pay
        started = time.perf_counter()
        with bucket.filesystem.open_input_file(path) as source:
            footers.append(pq.ParquetFile(source).metadata)
        read_footers += time.perf_counter() - started
        started = time.perf_counter()
        with bucket.filesystem.open_input_file(path) as source:
            ids = pq.ParquetFile(source).read(columns=["trace_id"]).column(0)
            found += pc.sum(pc.equal(ids, pa.scalar(wanted, ids.type))).as_py() or 0
        id_column += time.perf_counter() - started
    groups = kept = 0
    for meta in footers:
        index = meta.schema.to_arrow_schema().get_field_index("trace_id")
        for g in range(meta.num_row_groups):
            groups += 1
            st = meta.row_group(g).column(index).statistics
            kept += st is None or not st.has_min_max or st.min <= wanted <= st.max
    why = " (pyarrow does not read the Bloom filters)" if kept == groups else ""
    say(
        f"  lookup, step by step: listing {len(paths)} objects {listed * 1e3:.0f} ms; their "
        f"footers one by one {read_footers * 1e3:.0f} ms; trace_id min/max statistics keep "
        f"{kept} of {groups} row groups{why}; the trace_id column alone of every object "
        f"{id_column * 1e3:.0f} ms ({found} matching rows)"
    )
    bloom_lookup(bucket, paths, footers, wanted)


# -- what connect would do if it read the Bloom filters (pyarrow 26 gives their offsets) ----

_P1, _P2, _P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_P4, _P5, _M64 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5, 2**64 - 1
#: The split-block Bloom filter's salts (Parquet format, BloomFilter.md).
_SALTS = (0x47B6137B, 0x44974D91, 0x8824AD5B, 0xA2B7289D, 0x705495C7, 0x2DF1424B)
_SALTS += (0x9EFC4947, 0x5C6BFB31)


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def xxh64(data: bytes) -> int:
    """XXH64 (seed 0) of ``data`` when it is a multiple of 8 bytes under 32 (a trace id)."""
    assert len(data) % 8 == 0 and len(data) < 32
    h = (_P5 + len(data)) & _M64
    for i in range(0, len(data), 8):
        lane = int.from_bytes(data[i : i + 8], "little")
        k = (_rotl((lane * _P2) & _M64, 31) * _P1) & _M64
        h = (_rotl(h ^ k, 27) * _P1 + _P4) & _M64
    h = ((h ^ (h >> 33)) * _P2) & _M64
    h = ((h ^ (h >> 29)) * _P3) & _M64
    return h ^ (h >> 32)


def may_contain(bitset: bytes, value_hash: int) -> bool:
    """The split-block Bloom filter check of the Parquet format."""
    blocks = len(bitset) // 32
    block = ((value_hash >> 32) * blocks) >> 32
    key = value_hash & 0xFFFFFFFF
    for i, salt in enumerate(_SALTS):
        word = int.from_bytes(bitset[block * 32 + 4 * i : block * 32 + 4 * i + 4], "little")
        if not word & (1 << (((key * salt) & 0xFFFFFFFF) >> 27)):
            return False
    return True


def _num_bytes(header: bytes) -> int:
    """numBytes, the first field of the Thrift (compact) BloomFilterHeader: an i32 varint."""
    assert header[0] == 0x15, "BloomFilterHeader starts with field 1, i32"
    value = shift = 0
    for byte in header[1:6]:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return (value >> 1) ^ -(value & 1)


def bloom_lookup(bucket: Any, paths: list[str], footers: list[Any], wanted: bytes) -> None:
    """Read every row group's trace_id Bloom filter (one ranged read each), keep the row groups
    that may hold ``wanted``, read only those: what connect would pay with footers in hand."""
    started = time.perf_counter()
    value_hash = xxh64(wanted)

    def groups_of(path: str, meta: Any) -> tuple[str, list[int]]:
        index = meta.schema.to_arrow_schema().get_field_index("trace_id")
        columns = [meta.row_group(g).column(index) for g in range(meta.num_row_groups)]
        first = min(c.bloom_filter_offset for c in columns)  # pyarrow writes them together
        end = max(c.bloom_filter_offset + c.bloom_filter_length for c in columns)
        with bucket.filesystem.open_input_file(path) as source:
            block = source.read_at(end - first, first)  # one ranged GET per object
        chosen = []
        for g, column in enumerate(columns):
            data = block[column.bloom_filter_offset - first :][: column.bloom_filter_length]
            if may_contain(data[len(data) - _num_bytes(data[:6]) :], value_hash):
                chosen.append(g)
        return path, chosen

    with ThreadPoolExecutor(8) as pool:  # objects in parallel, as pyarrow reads fragments
        keep = [k for k in pool.map(groups_of, paths, footers) if k[1]]
    groups = sum(m.num_row_groups for m in footers)
    filters = time.perf_counter() - started
    started = time.perf_counter()
    fmt = ds.ParquetFileFormat()
    fragments = [fmt.make_fragment(p, bucket.filesystem, row_groups=g) for p, g in keep]
    schema = footers[0].schema.to_arrow_schema()
    data = ds.FileSystemDataset(fragments, schema, fmt, bucket.filesystem)
    condition = ds.field("trace_id") == pa.scalar(wanted, pa.binary(16))
    found = data.to_table(filter=condition).num_rows
    read = time.perf_counter() - started
    say(
        f"  lookup by the Bloom filters: reading the {groups} filters {filters * 1e3:.0f} ms "
        f"(one read per object, 8 at a time), they keep {sum(len(g) for _, g in keep)} row "
        f"groups, read in "
        f"{read * 1e3:.0f} ms ({found} spans)"
    )


def local_copy(bucket: Any, relative: str, target: Path) -> Path:
    """The objects under ``relative`` copied byte for byte to ``target``/``relative``."""
    pafs.copy_files(
        bucket.path(relative),
        str(target / relative),
        source_filesystem=bucket.filesystem,
        destination_filesystem=pafs.LocalFileSystem(),
    )
    return target


def upload_tree(local: Path, bucket: Any, prefix: str, sort: bool) -> int:
    """Put the Parquet files under ``local`` at ``prefix`` in the bucket (same relative keys):
    as they are, or (``sort``) with their rows sorted by SORT_KEYS as compaction sorts them,
    rewritten with the seal's layout. The number of files."""
    from otlp_arrow.storage import parquet_format as fmt

    paths = [p for p in sorted(local.rglob("*.parquet")) if "metadata" not in p.parts]
    for path in paths:
        key = f"{prefix}/{path.relative_to(local).as_posix()}"
        with bucket.filesystem.open_output_stream(key) as sink:
            if sort:
                fmt.write_table(sink, fmt.sort_rows(pq.read_table(path), "traces"), "traces")
            else:
                sink.write(path.read_bytes())
    return len(paths)


def compacted_copy(bucket: Any, work: Path) -> str:
    """The objects compacted by the product's compactor (as it compacts a local output: merged
    up to TARGET_FILE_BYTES, sorted, zstd 9) and put in the bucket; its URI."""
    from otlp_arrow.storage import compact

    local = local_copy(bucket, "traces", work / "compacted")
    started = time.perf_counter()
    merged = written = passes = 0
    while True:  # passes until nothing is left to merge, as the service's would over time
        stats = compact.compact_signal(local / "traces", settle_s=None, grace_s=0)
        if not stats.files_merged:
            break
        merged, written = merged + stats.files_merged, written + stats.files_written
        passes += 1
    files = upload_tree(local, bucket, f"{BUCKET}/compacted", sort=False)
    say(
        f"  compacted copy: {passes} passes merged {merged} files into {written}; {files} "
        f"files left, in {time.perf_counter() - started:.0f} s"
    )
    shutil.rmtree(local)
    return f"s3://{BUCKET}/compacted"


def same(a: list[Any], b: list[Any]) -> bool:
    """Equal answers (p99s as floats: each engine interpolates in its own arithmetic)."""

    def equal(u: Any, v: Any) -> bool:
        if isinstance(u, float) or isinstance(v, float):
            return math.isclose(float(u), float(v), rel_tol=1e-9)
        return bool(u == v)

    return len(a) == len(b) and all(
        len(x) == len(y) and all(equal(u, v) for u, v in zip(x, y, strict=True))
        for x, y in zip(a, b, strict=True)
    )


def diagnose(
    local: Path, bucket: Any, work: Path, wanted: bytes, answer: Any, args: argparse.Namespace
) -> None:
    """The same lookup without S3 (the local copy), by DuckDB's own Parquet reader (which
    reads the Bloom filters), over the objects sorted by trace id one by one, and
    (``--compacted``) over them compacted (each variant uploaded to the bucket)."""
    import duckdb

    import otlp_arrow

    files = f"{local}/traces/*/*/*.parquet"
    native = f"SELECT span_id FROM read_parquet('{files}') WHERE trace_id = $t"
    upload_tree(local, bucket, f"{BUCKET}/sorted", sort=True)
    stores = {
        "connect over the local copy (no S3)": otlp_arrow.connect(local),
        "connect over S3, objects sorted by trace id": otlp_arrow.connect(
            f"s3://{BUCKET}/sorted", work / "no-spool"
        ),
    }
    if args.compacted:
        stores["connect over S3, objects compacted"] = otlp_arrow.connect(
            compacted_copy(bucket, work), work / "no-spool"
        )
    actions = {label: lambda st=st: find(st, wanted) for label, st in stores.items()}
    actions["DuckDB read_parquet over the local copy (statistics + Bloom filters)"] = lambda: (
        sorted(duckdb.sql(native, params={"t": wanted}).fetchall())
    )
    for label, action in actions.items():
        took, got = timed(action, args.repeat)
        agree = "same" if same(got, answer) else f"DIFFERENT: {got[:2]} vs {answer[:2]}"
        say(f"  lookup, {label}: {took * 1e3:.0f} ms ({agree})")
    for label, store in stores.items():
        if "over S3" in label:
            lookup_steps(store, wanted)


def find(store: Any, wanted: bytes) -> list[tuple[Any, ...]]:
    """connect's trace lookup: the span ids of trace ``wanted``."""
    return rows(store.traces(trace_id=wanted).select(["span_id"]))

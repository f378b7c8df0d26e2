"""The trace lookup of ``bench_scale.py`` taken apart: where its time goes (listing the
objects, reading their footers and Bloom filters, the row groups these keep, reading them),
and the same lookup over variants of the same spans: the objects copied to a local directory
(no S3), read by DuckDB's own Parquet reader (which reads the Bloom filters), sorted by trace
id one by one (as if sealing sorted), compacted by the product's compactor (``--compacted``).
"""

from __future__ import annotations

import argparse
import math
import shutil
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from benches.bench_storage import rows, timed

from otlp_arrow.storage.footers import PARALLEL_READS

BUCKET = "bench"


def say(text: str) -> None:
    print(text, flush=True)


def lookup_steps(store: Any, wanted: bytes) -> None:
    """Where a cold trace lookup's time goes, through the product's own pieces on a fresh
    ``Sources`` (nothing cached): listing; each object's tail (footer and Bloom filters, one
    read); reading the row groups the filters keep. And how many row groups the trace_id
    min/max statistics alone would keep."""
    from otlp_arrow.storage.sources import Sources

    def fresh() -> Any:
        return Sources(str(store.sources), store.sources.spool_dir)

    sources = fresh()
    fs, condition = sources.bucket.filesystem, ds.field("trace_id") == pa.scalar(wanted)
    started = time.perf_counter()
    files = sources.remote_files(sources.files("traces").remote)
    listed = time.perf_counter() - started
    started = time.perf_counter()
    kept = sources.footers.fragments(files, fs, ("trace_id", wanted))
    pruned = time.perf_counter() - started
    started = time.perf_counter()
    schema = kept[0].physical_schema
    data = ds.FileSystemDataset(kept, schema, ds.ParquetFileFormat(), fs)
    found = data.to_table(filter=condition).num_rows
    read = time.perf_counter() - started
    groups = stats_kept = 0
    for fragment in fresh().footers.fragments(files, fs):
        meta = fragment.metadata
        index = meta.schema.to_arrow_schema().get_field_index("trace_id")
        for g in range(meta.num_row_groups):
            groups += 1
            st = meta.row_group(g).column(index).statistics
            stats_kept += st is None or not st.has_min_max or st.min <= wanted <= st.max
    say(
        f"  lookup, step by step (cold): listing {len(files)} objects {listed * 1e3:.0f} ms; "
        f"their tails (footer + Bloom filters, one read each, {PARALLEL_READS} at a time) "
        f"{pruned * 1e3:.0f} ms; the filters keep {sum(len(f.row_groups) for f in kept)} of "
        f"{groups} row groups (min/max statistics alone: {stats_kept}); reading those "
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
    up to TARGET_FILE_BYTES, sorted, zstd as compaction writes) and put in the bucket; its URI."""
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

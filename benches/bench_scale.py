"""Ten million spans in the bucket (issue #14, Benchmark): trace lookup, p99 duration per
service, errors per span name — ``otlp_arrow.connect("s3://…")``, Spark on an Iceberg table of
the same files, and DuckDB over OTLP JSON Lines of the same spans as the peer.

Workload: the demo shop's spans (``benches/shop_data.py``, ~100,000 spans) replicated to
``--spans`` (replica r: the last trace id byte set to r, so traces stay whole and distinct and
ids stay as random as the shop's — no replica sorts apart from the others).

1. Ingest, the product's own path: ``OtlpLibrary(output_dir="s3://bench/otel")`` (what
   ``serve`` runs) takes the spans in 1,000-span batches, writes its spool, rotates at
   ``rotate_bytes``, seals to Parquet and uploads to a moto server (``tests/s3_server.py``)
   through pyarrow's S3 client. Not compacted yet: ``serve`` compacts an hour's objects once
   it ended, so the bucket holds what ``serve`` leaves there within the hour.
2. OTLP/JSON Lines of the same spans, one 1,000-span request per line, for the peer.
3. The three questions through ``connect`` (best of ``--repeat``), the trace lookup taken
   apart and tried over variants of the same spans (``benches/scale_lookup.py``; the objects
   compacted by the product's compactor with ``--compacted``).
4. Spark (local mode) on an Iceberg table (SQLite catalog) over a LOCAL copy of the bucket's
   objects, byte for byte (Spark's S3 reading is not in this branch); best of ``--repeat``.
5. DuckDB ``read_json`` over the JSON Lines, each question once (minutes per run; skipped,
   with part 2, by ``--no-peer``).
6. With ``--compact-bucket``: the bucket compacted in place by the product's compactor
   (``storage.compact_remote``, what ``serve`` runs once the hour ended), then the questions
   through ``connect`` again.

Usage: ``PYTHONPATH=. .venv/bin/python benches/bench_scale.py [--spans N]``.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from benches.bench_storage import ERRORS, P99, PEER_SPANS, REQUEST, jsonl, replicate, rows, timed
from benches.scale_lookup import BUCKET, diagnose, find, local_copy, lookup_steps, same, say
from benches.shop_data import cached
from tests.s3_server import ACCESS_KEY, SECRET_KEY, MotoServer

PREFIX = "otel"
BYTE = 15  # the trace id byte that tells replicas apart


def ingest(base: pa.Table, copies: int, uri: str, spool: Path) -> float:
    """Every replica through OtlpLibrary into the bucket; seconds taken (flush included)."""
    from otlp_arrow import OtlpLibrary
    from otlp_arrow.errors import BufferFullError

    started = time.perf_counter()
    with OtlpLibrary(output_dir=uri, spool_dir=spool) as lib:
        for r, table in enumerate(replicate(base, copies, BYTE)):
            for start in range(0, table.num_rows, REQUEST):
                while True:
                    try:
                        lib.export_traces(table.slice(start, REQUEST))
                        break
                    except BufferFullError:  # the spool waits for uploads: as a client would
                        time.sleep(0.2)
            if r % 10 == 9 or r == copies - 1:
                up = lib.stats()["upload"]
                say(
                    f"  ingest: {r + 1}/{copies} replicas in {time.perf_counter() - started:.0f} s"
                    f" ({up['files_uploaded']} objects uploaded)"
                )
        lib.shutdown(timeout_millis=3_600_000)
    return time.perf_counter() - started


def describe_objects(bucket: Any, total: int) -> list[Any]:
    from otlp_arrow.storage.compact import is_merged

    infos = bucket.list_files("traces", ".parquet")
    sizes = [i.size for i in infos]
    merged = sum(is_merged(i.path) for i in infos)
    counts = []
    for info in infos:
        with bucket.filesystem.open_input_file(bucket.path(info.path.as_posix())) as source:
            counts.append(pq.ParquetFile(source).metadata.num_rows)
    say(
        f"bucket: {len(infos)} objects, {sum(counts):,} spans ({sum(sizes) / total:.1f} B/span), "
        f"{min(sizes) / 2**20:.1f} / {statistics.median(sizes) / 2**20:.1f} / "
        f"{max(sizes) / 2**20:.1f} MiB min/median/max, {statistics.median(counts):,.0f} spans "
        f"per object (median), {merged} merged by compaction (sorted), the others in stream order"
    )
    if sum(counts) != total:
        raise SystemExit(f"the bucket holds {sum(counts)} spans, {total} were exported")
    return infos


def spark_session(catalog: str, warehouse: Path) -> Any:
    from pyspark.sql import SparkSession

    from otlp_arrow.lake import spark as lake_spark

    jars = lake_spark.jars()
    if len(jars) < 2:
        raise SystemExit(f"the Spark jars are not in {lake_spark.JARS_DIR}: scripts/fetch-jars.sh")
    conf = {
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.driver.memory": "4g",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.shuffle.partitions": "2",
    } | lake_spark.spark_conf(catalog, str(warehouse))
    builder = SparkSession.builder.master("local[2]").appName("otlp-arrow-bench-scale")
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def spark_questions(local: Path, work: Path, wanted: bytes) -> dict[str, Callable[[], Any]]:
    """An Iceberg table of the local copy (files added as they are, by the product's
    Committer) and Spark's three questions over it."""
    from otlp_arrow.lake.iceberg import Committer

    started = time.perf_counter()
    catalog = f"sqlite:///{work / 'catalog.db'}"
    committed = Committer(catalog, str(local)).repair()["traces"]
    say(f"spark: {committed} objects committed in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    spark = spark_session(catalog, local)
    say(f"spark: session up in {time.perf_counter() - started:.0f} s (not counted)")
    table = "otlp_arrow.otel.traces"
    p99 = P99.format(t=table).replace("quantile_cont", "percentile")
    errors = ERRORS.format(t=table)
    lookup = f"SELECT span_id FROM {table} WHERE trace_id = X'{wanted.hex()}'"
    return {
        "trace lookup": lambda: sorted((bytes(r[0]),) for r in spark.sql(lookup).collect()),
        "p99 per service": lambda: sorted(tuple(r) for r in spark.sql(p99).collect()),
        "errors per name": lambda: sorted(tuple(r) for r in spark.sql(errors).collect()),
        "stop": spark.stop,
    }


def run(args: argparse.Namespace, work: Path, moto: MotoServer) -> None:
    import duckdb

    import otlp_arrow
    from otlp_arrow.storage.objects import open_bucket

    base = cached(100_000, args.cache)["traces"]
    copies = max(1, math.ceil(args.spans / base.num_rows))
    if copies > 256:
        raise SystemExit(f"at most {256 * base.num_rows} spans (one trace id byte per replica)")
    total = copies * base.num_rows
    moto.client().create_bucket(Bucket=BUCKET)
    uri = f"s3://{BUCKET}/{PREFIX}"
    spool = work / "spool"
    say(
        f"pyarrow {pa.__version__}, duckdb {duckdb.__version__}; {total:,} spans "
        f"({copies} replicas of the shop's {base.num_rows:,})"
    )
    took = ingest(base, copies, uri, spool)
    say(f"ingest through OtlpLibrary into {uri}: {took:.0f} s ({total / took:,.0f} spans/s)")
    bucket = open_bucket(uri)
    objects = len(describe_objects(bucket, total))

    mid = base.column("trace_id")[base.num_rows // 2].as_py()
    wanted = mid[:BYTE] + bytes([copies // 2]) + mid[BYTE + 1 :]
    store = otlp_arrow.connect(uri, spool_dir=spool)
    other = base.column("trace_id")[0].as_py()  # another trace, to warm the store's cache
    ours = {
        # a new connect() each time: no footer or filter read before
        "trace lookup": lambda: find(otlp_arrow.connect(uri, spool_dir=spool), wanted),
        # the same store after it answered another lookup: footers and filters kept
        "lookup, warm": lambda: find(store, wanted),
        "p99 per service": lambda: rows(store.sql(P99.format(t="traces"))),
        "errors per name": lambda: rows(store.sql(ERRORS.format(t="traces"))),
    }
    results: dict[str, dict[str, tuple[float, Any]]] = {}
    find(store, other)
    for label, action in ours.items():
        say(f"connect: {label} ...")
        results.setdefault(label, {})["connect"] = timed(action, args.repeat)
        say(f"  {results[label]['connect'][0] * 1e3:.0f} ms")
    lookup_steps(store, wanted)
    local = local_copy(bucket, "traces", work / "warehouse")
    diagnose(local, bucket, work, wanted, results["trace lookup"]["connect"][1], args)

    if not args.no_spark:
        theirs = spark_questions(local, work, wanted)
        for label in (label for label in ours if label in theirs):
            say(f"spark: {label} ...")
            timed(theirs[label], 1)  # the first run compiles and warms the JVM: not counted
            results[label]["spark"] = timed(theirs[label], args.repeat)
            say(f"  {results[label]['spark'][0] * 1e3:.0f} ms")
        theirs["stop"]()

    if not args.no_peer:
        peer_questions(base, copies, work, wanted, results)
    report(results, total, objects)
    if args.compact_bucket:
        compact_bucket(bucket, work, total, ours, args.repeat, results)


def compact_bucket(
    bucket: Any,
    work: Path,
    total: int,
    ours: dict[str, Callable[[], Any]],
    repeat: int,
    before: dict[str, dict[str, tuple[float, Any]]],
) -> None:
    """Part 6: compact the bucket in place, then ask ``connect`` the questions again."""
    from otlp_arrow.storage import compact_remote

    start = time.perf_counter()
    done = compact_remote.compact_signal(
        bucket, "traces", work / "scratch", settle_s=None, grace_s=0
    )
    took = time.perf_counter() - start
    say(
        f"compacted in the bucket: {done.files_merged} objects into {done.files_written} "
        f"({done.rows:,} rows) in {took:.0f} s ({done.rows / max(took, 1e-9):,.0f} spans/s)"
    )
    objects = len(describe_objects(bucket, total))
    results: dict[str, dict[str, tuple[float, Any]]] = {}
    for label, action in ours.items():
        action()  # the first answer reads the new objects' footers
        results.setdefault(label, {})["connect"] = timed(action, repeat)
        equal = same(results[label]["connect"][1], before[label]["connect"][1])
        say(
            f"compacted, connect: {label}: {results[label]['connect'][0] * 1e3:.0f} ms, "
            f"{'the same answer' if equal else 'ANSWER DIFFERS'}"
        )
    report(results, total, objects)


def peer_questions(
    base: pa.Table, copies: int, work: Path, wanted: bytes, results: dict[str, Any]
) -> None:
    """The same spans as OTLP JSON Lines, and DuckDB's answers over them (each once)."""
    import duckdb

    jsonl_path = work / "traces.jsonl"
    started = time.perf_counter()
    jsonl(base, copies, jsonl_path, BYTE)
    size = jsonl_path.stat().st_size
    took, per_span = time.perf_counter() - started, size / (copies * base.num_rows)
    say(f"OTLP JSON Lines: {size / 2**30:.1f} GiB ({per_span:.0f} B/span), {took:.0f} s")

    peer = duckdb.connect()
    peer.execute(f"CREATE VIEW spans AS SELECT * FROM {PEER_SPANS.format(path=jsonl_path)}")
    lookup = f"SELECT unhex(span_id) FROM spans WHERE trace_id = '{wanted.hex()}'"
    questions = {
        "trace lookup": lookup,
        "p99 per service": P99.format(t="spans"),
        "errors per name": ERRORS.format(t="spans"),
    }
    for label, query in questions.items():
        say(f"DuckDB over JSON Lines: {label} (once) ...")
        started = time.perf_counter()
        results[label]["peer"] = timed(lambda q=query: sorted(peer.sql(q).fetchall()), 1)
        say(f"  {time.perf_counter() - started:.0f} s")
    jsonl_path.unlink()


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e3:.0f}"


def _ratio(peer_s: float, engine_s: float) -> str:
    """The peer's time over the engine's; "-" where either was not measured (--no-...)."""
    return "-" if math.isnan(peer_s / engine_s) else f"{peer_s / engine_s:.1f}x"


def report(results: dict[str, dict[str, tuple[float, Any]]], total: int, objects: int) -> None:
    say(f"\n## {total:,} spans in {objects} objects: ms, ratio = DuckDB over JSON Lines / engine")
    say(
        f"{'question':<17} {'connect':>9} {'Spark':>9} {'DuckDB/JSONL':>13} "
        f"{'vs connect':>10} {'vs Spark':>9}  answers"
    )
    for label, by in results.items():
        mine_s, mine = by["connect"]
        cold = results["trace lookup"]["connect"][1] if label == "lookup, warm" else mine
        peer_s, expected = by.get("peer", (math.nan, cold))
        spark_s, spark = by.get("spark", (math.nan, expected))
        agree = "same" if same(mine, expected) and same(spark, expected) else "DIFFERENT"
        say(
            f"{label:<17} {_ms(mine_s):>9} {_ms(spark_s):>9} {_ms(peer_s):>13} "
            f"{_ratio(peer_s, mine_s):>10} {_ratio(peer_s, spark_s):>9}  "
            f"{len(expected)} rows, {agree}"
        )
    for label in ("trace lookup", "lookup, warm"):
        took = results[label]["connect"][0]
        verdict = "under" if took < 1 else "NOT under"
        say(f"{label} through connect: {took * 1e3:.0f} ms, {verdict} 1 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per question (best kept)")
    parser.add_argument("--no-spark", action="store_true", help="skip Spark (part 4)")
    parser.add_argument("--no-peer", action="store_true", help="skip the JSON Lines (2, 5)")
    parser.add_argument(
        "--compacted", action="store_true", help="also the lookup over compacted objects"
    )
    parser.add_argument(
        "--compact-bucket", action="store_true", help="then compact the bucket and ask again (6)"
    )
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "otlp-arrow-bench"
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.work))
    moto = MotoServer()
    saved = dict(os.environ)
    os.environ.update(
        AWS_ENDPOINT_URL=moto.url,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_REGION="us-east-1",
    )
    try:
        run(args, work, moto)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        moto.stop()
        shutil.rmtree(work)  # the JSON Lines (GiBs), the spool, the local warehouse
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Two ``otlp-arrow serve`` processes ingesting at the same time into one bucket (moto in
server mode) and one SQLite Iceberg catalog, fed by the OpenTelemetry SDK's exporters over
OTLP/gRPC and OTLP/HTTP; then the same three questions (span count per service, p99 duration
per service, all spans of one trace) answered by DuckDB (``connect("s3://…")``), pyiceberg
``scan()`` and Spark (Iceberg's runtime reading the bucket through ``S3FileIO``): equal
answers, and every span sent there exactly once."""

from __future__ import annotations

import contextlib
import math
import os
import random
import secrets
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

from otlp_arrow import connect
from otlp_arrow.lake import spark as lake_spark
from otlp_arrow.lake.iceberg import Committer
from tests.helpers import T0, start_serve, stop_serve
from tests.lake.conftest import start_spark
from tests.s3_server import ACCESS_KEY, SECRET_KEY, MotoServer, keys

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    # py4j (pyspark's bridge to the JVM) leaves its sockets to the garbage collector
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

SERVICES = ("frontend", "cart", "payments")
#: The clients, each (serve, protocol): every trace has one span from each, so it is spread
#: over both instances (as behind a load balancer) and both protocols.
CLIENTS = ((0, "gRPC"), (0, "HTTP"), (1, "gRPC"), (1, "HTTP"))
BATCHES, PER_BATCH = 8, 100  # per client: 3,200 spans in all
CATALOG = "otlp_arrow"  # the Spark catalog's name: the writers' (JdbcCatalog needs it)


@dataclass(frozen=True)
class Sent:
    trace_id: bytes
    service: str
    name: str
    duration_ns: int


@dataclass
class Fleet:
    uri: str  # s3://bucket/otel, both serves' output_dir
    catalog: str  # sqlite:///…, both serves' iceberg_catalog
    sent: dict[bytes, Sent]  # span id -> what was sent
    pids: tuple[int, int]
    s3: Any  # boto3's S3 client, straight to moto
    spark: Any


def _span(client: int, trace: int, resources: dict[str, Resource]) -> tuple[ReadableSpan, Sent]:
    trace_id = (0xF1EE7 << 96) | (trace + 1)
    span_id = ((client + 1) << 32) | (trace + 1)  # distinct, known
    service = SERVICES[(trace + client) % len(SERVICES)]
    duration = random.Random(span_id).randint(1_001, 90_000_001)  # ns, not whole µs
    start = T0 + trace * 1_000_000 + client * 1_000
    context = SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1))
    root = SpanContext(trace_id, (1 << 32) | (trace + 1), is_remote=False)
    span = ReadableSpan(
        name=f"op-{client}",
        context=context,
        parent=None if client == 0 else root,
        resource=resources[service],
        attributes={"fleet.client": client},
        kind=SpanKind.SERVER if client == 0 else SpanKind.INTERNAL,
        instrumentation_scope=InstrumentationScope("fleet-test"),
        start_time=start,
        end_time=start + duration,
    )
    sent = Sent(trace_id.to_bytes(16, "big"), service, f"op-{client}", duration)
    return span, sent


def _feed(ports: list[dict[str, int]]) -> dict[bytes, Sent]:
    """Every client sends its batches on its own thread, all starting together."""
    resources = {s: Resource.create({"service.name": s}) for s in SERVICES}
    sent: dict[bytes, Sent] = {}
    batches: list[list[list[ReadableSpan]]] = []
    for index in range(len(CLIENTS)):
        mine = []
        for b in range(BATCHES):
            batch = []
            for t in range(b * PER_BATCH, (b + 1) * PER_BATCH):
                span, what = _span(index, t, resources)
                batch.append(span)
                assert span.context is not None
                sent[span.context.span_id.to_bytes(8, "big")] = what
            mine.append(batch)
        batches.append(mine)
    start = threading.Barrier(len(CLIENTS))
    results: list[list[SpanExportResult]] = [[] for _ in CLIENTS]

    def send(index: int) -> None:
        serve, protocol = CLIENTS[index]
        port = ports[serve][protocol]
        exporter: Any = (
            GrpcSpans(endpoint=f"127.0.0.1:{port}", insecure=True)
            if protocol == "gRPC"
            else HttpSpans(endpoint=f"http://127.0.0.1:{port}/v1/traces")
        )
        start.wait()
        try:
            results[index] = [exporter.export(batch) for batch in batches[index]]
        finally:
            exporter.shutdown()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(CLIENTS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert results == [[SpanExportResult.SUCCESS] * BATCHES] * len(CLIENTS)
    assert len(sent) == len(CLIENTS) * BATCHES * PER_BATCH
    return sent


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.communicate(timeout=60)


@pytest.fixture(scope="module")
def fleet(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("fleet")
    bucket = f"fleet-{secrets.token_hex(4)}"
    moto_server.client().create_bucket(Bucket=bucket)
    uri, catalog = f"s3://{bucket}/otel", f"sqlite:///{root / 'catalog.db'}"
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(("AWS_", "OTLP_ARROW_", "OTEL_")):
                env.delenv(name)
        env.setenv("AWS_ENDPOINT_URL", moto_server.url)
        env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        env.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        env.setenv("AWS_REGION", "us-east-1")
        env.setenv("XDG_CACHE_HOME", str(root / "cache"))
        serves = []
        with contextlib.ExitStack() as leftovers:  # whatever fails, no serve is left running
            for i in range(2):
                proc, ports = start_serve(
                    uri,
                    "--grpc-port", "0", "--http-port", "0",
                    env={
                        "OTLP_ARROW_SPOOL_DIR": str(root / f"spool-{i}"),
                        "OTLP_ARROW_ICEBERG_CATALOG": catalog,
                        # several files per serve, committed while the other one commits
                        "OTLP_ARROW_ROTATE_BYTES": "128KiB",
                    },
                )  # fmt: skip
                leftovers.callback(_kill, proc)
                serves.append((proc, ports))
            try:
                sent = _feed([ports for _, ports in serves])
            finally:
                logs = [stop_serve(proc) for proc, _ in serves]  # SIGTERM: a clean stop
        for i, log in enumerate(logs):
            assert f"everything received is in {uri} (spool {root / f'spool-{i}'})" in log
            assert SECRET_KEY not in log
        assert not list(root.glob("spool-*/**/*.parquet"))  # all uploaded
        spark = start_spark(lake_spark.spark_conf(catalog, uri))
        try:
            pids = (serves[0][0].pid, serves[1][0].pid)
            yield Fleet(uri, catalog, sent, pids, moto_server.client(), spark)
        finally:
            spark.stop()


@dataclass
class Answers:
    count: dict[str, int]  # spans per service
    p99: dict[str, float]  # p99 of duration_ns per service
    trace: list[tuple[bytes, str, str, int]]  # the spans of one trace (id, service, name, ns)
    span_ids: list[bytes]  # every stored span id, as often as it is stored

    def assert_equal(self, other: Answers) -> None:
        assert self.count == other.count
        assert self.p99.keys() == other.p99.keys()
        for service, p99 in self.p99.items():
            assert math.isclose(p99, other.p99[service], rel_tol=1e-12), service
        assert self.trace == other.trace
        assert sorted(self.span_ids) == sorted(other.span_ids)


#: The trace asked for: span 0 and 1 of it went to the first serve, 2 and 3 to the second.
TRACE = ((0xF1EE7 << 96) | 124).to_bytes(16, "big")
TRACE_HEX = TRACE.hex().upper()


def _quantile(values: list[int], q: float) -> float:
    """Linear interpolation between closest ranks (Spark's percentile, DuckDB's
    quantile_cont, pyarrow's quantile)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _expected(sent: dict[bytes, Sent]) -> Answers:
    by_service: dict[str, list[int]] = {}
    for what in sent.values():
        by_service.setdefault(what.service, []).append(what.duration_ns)
    trace = sorted(
        (span_id, s.service, s.name, s.duration_ns)
        for span_id, s in sent.items()
        if s.trace_id == TRACE
    )
    return Answers(
        {s: len(d) for s, d in by_service.items()},
        {s: _quantile(d, 0.99) for s, d in by_service.items()},
        trace,
        list(sent),
    )


def _duckdb(sql: Any) -> Answers:
    """The answers of DuckDB, ``sql`` running a query over a view ``traces``."""
    counts = sql("SELECT service_name::VARCHAR, count(*) FROM traces GROUP BY 1")
    p99 = sql(
        "SELECT service_name::VARCHAR, quantile_cont(duration_ns, 0.99) FROM traces GROUP BY 1"
    )
    trace = sql(
        "SELECT span_id, service_name::VARCHAR, name::VARCHAR, duration_ns FROM traces "
        f"WHERE hex(trace_id) = '{TRACE_HEX}'"
    )
    ids = sql("SELECT span_id FROM traces")
    return Answers(
        dict(zip(*(c.to_pylist() for c in counts.columns), strict=True)),
        dict(zip(*(c.to_pylist() for c in p99.columns), strict=True)),
        sorted(zip(*(c.to_pylist() for c in trace.columns), strict=True)),
        ids.column(0).to_pylist(),
    )


def _pyiceberg(fleet: Fleet) -> Answers:
    from pyiceberg.expressions import EqualTo

    table = Committer(fleet.catalog, fleet.uri).table("traces")
    spans = table.scan(selected_fields=("span_id", "service_name", "duration_ns")).to_arrow()
    # pyiceberg gives our dictionary columns back as dictionaries, one per file
    service = spans.schema.get_field_index("service_name")
    spans = spans.set_column(service, "service_name", spans["service_name"].cast(pa.string()))
    counts = spans.group_by("service_name").aggregate([("span_id", "count")])
    p99 = {}
    for service in pc.unique(spans.column("service_name")).to_pylist():
        durations = spans.filter(pc.field("service_name") == service).column("duration_ns")
        p99[service] = pc.quantile(durations, q=0.99, interpolation="linear")[0].as_py()
    columns = ("span_id", "service_name", "name", "duration_ns")
    trace = table.scan(
        row_filter=EqualTo(term="trace_id", value=TRACE), selected_fields=columns
    ).to_arrow()
    return Answers(
        dict(
            zip(
                counts["service_name"].to_pylist(),
                counts["span_id_count"].to_pylist(),
                strict=True,
            )
        ),
        p99,
        sorted(zip(*(trace.column(c).to_pylist() for c in columns), strict=True)),
        spans.column("span_id").to_pylist(),
    )


def _spark(fleet: Fleet) -> Answers:
    table = f"{CATALOG}.otel.traces"

    def rows(query: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in fleet.spark.sql(query).collect()]

    counts = rows(f"SELECT service_name, count(*) FROM {table} GROUP BY service_name")
    p99 = rows(
        f"SELECT service_name, percentile(duration_ns, 0.99) FROM {table} GROUP BY service_name"
    )
    trace = rows(
        f"SELECT span_id, service_name, name, duration_ns FROM {table} "
        f"WHERE hex(trace_id) = '{TRACE_HEX}'"
    )
    ids = rows(f"SELECT span_id FROM {table}")
    return Answers(
        dict(counts),
        dict(p99),
        sorted((bytes(r[0]), r[1], r[2], r[3]) for r in trace),
        [bytes(r[0]) for r in ids],
    )


def test_both_serves_uploaded_and_committed_every_file_once(fleet: Fleet) -> None:
    committer = Committer(fleet.catalog, fleet.uri)
    committed = committer.table("traces").inspect.files().column("file_path").to_pylist()
    bucket, prefix = fleet.uri.removeprefix("s3://").split("/", 1)
    objects = [
        f"s3://{bucket}/{k}"
        for k in keys(fleet.s3, bucket, f"{prefix}/traces/")
        if k.endswith(".parquet") and "/metadata/" not in k
    ]
    assert len(committed) == len(set(committed))  # none twice
    assert sorted(committed) == sorted(objects)  # every uploaded file, nothing else
    for pid in fleet.pids:  # files of each serve, several each (rotation)
        assert sum(f"-{pid}-" in Path(f).name for f in committed) >= 2, pid


def test_duckdb_pyiceberg_and_spark_give_the_same_answers(fleet: Fleet) -> None:
    want = _expected(fleet.sent)
    assert len(want.trace) == len(CLIENTS) and sum(want.count.values()) == len(fleet.sent)
    by_duckdb = _duckdb(connect(fleet.uri).sql)
    by_pyiceberg = _pyiceberg(fleet)
    by_spark = _spark(fleet)
    for answers in (by_duckdb, by_pyiceberg, by_spark):
        answers.assert_equal(want)  # and so equal to each other


def test_the_check_fails_when_a_serve_is_missing_or_a_file_counted_twice(fleet: Fleet) -> None:
    import duckdb
    import pyarrow.parquet as pq

    from otlp_arrow.lake.catalog import filesystem

    fs, _ = filesystem(fleet.uri)
    files = Committer(fleet.catalog, fleet.uri).referenced("traces")
    first = [f for f in files if f"-{fleet.pids[0]}-" in Path(f).name]
    columns = ["trace_id", "span_id", "service_name", "name", "duration_ns"]

    def answers(paths: list[str]) -> Answers:
        parts = [
            pq.read_table(p.removeprefix("s3://"), columns=columns, filesystem=fs) for p in paths
        ]
        con = duckdb.connect()
        con.register("traces", pa.concat_tables(parts))
        return _duckdb(lambda q: con.sql(q).to_arrow_table())

    want = _expected(fleet.sent)
    with pytest.raises(AssertionError):
        answers(first).assert_equal(want)  # the other serve's spans are missing
    with pytest.raises(AssertionError):
        answers([*files, first[0]]).assert_equal(want)  # one file's spans twice
    answers(sorted(files)).assert_equal(want)  # all files once: the check passes

"""Apache Spark (pyspark, local mode) on the Iceberg table through Iceberg's Spark runtime
and the SQLite catalog pyiceberg writes: the answers equal DuckDB's on our reader's table.
One SparkSession for the module (its start takes most of the time)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from otlp_arrow.lake import spark as lake_spark
from otlp_arrow.lake.iceberg import Committer
from otlp_arrow.storage.reader import read_table
from tests.lake.conftest import start_spark, write_sealed

pytestmark = [
    pytest.mark.slow,
    # py4j (pyspark's bridge to the JVM) leaves its sockets to the garbage collector
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    root = tmp_path_factory.mktemp("spark")
    warehouse = root / "data"
    write_sealed(warehouse, n=200, seed=3)
    write_sealed(warehouse, n=100, seed=4)
    catalog = f"sqlite:///{root / 'catalog.db'}"
    Committer(catalog, str(warehouse)).repair()
    session = start_spark(lake_spark.spark_conf(catalog, str(warehouse)))
    try:
        yield session, warehouse
    finally:
        session.stop()


@pytest.mark.timeout(900)
def test_p99_duration_per_service(lake: tuple[Any, Path]) -> None:
    spark, warehouse = lake
    rows = spark.sql(
        "SELECT service_name, percentile(duration_ns, 0.99) AS p99, count(*) AS n "
        "FROM otlp_arrow.otel.traces GROUP BY service_name"
    ).collect()
    by_spark = {r["service_name"]: (r["p99"], r["n"]) for r in rows}
    con = duckdb.connect()
    con.register("spans", read_table(warehouse, "traces"))
    by_duckdb = {
        service: (p99, n)
        for service, p99, n in con.sql(
            "SELECT service_name::VARCHAR, quantile_cont(duration_ns, 0.99), count(*) "
            "FROM spans GROUP BY 1"
        ).fetchall()
    }
    assert by_spark.keys() == by_duckdb.keys() and len(by_spark) == 3
    for service, (p99, n) in by_duckdb.items():
        assert by_spark[service][1] == n
        assert math.isclose(by_spark[service][0], p99, rel_tol=1e-12)
    assert sum(n for _, n in by_spark.values()) == 300


@pytest.mark.timeout(900)
def test_all_spans_of_one_trace(lake: tuple[Any, Path]) -> None:
    spark, warehouse = lake
    spans = read_table(warehouse, "traces")
    trace = spans.column("trace_id")[7].as_py()
    want = duckdb.sql(
        "SELECT span_id, name::VARCHAR, duration_ns FROM spans WHERE trace_id = $t ORDER BY 1",
        params={"t": trace},
    ).fetchall()
    got = spark.sql(
        "SELECT span_id, name, duration_ns FROM otlp_arrow.otel.traces "
        f"WHERE hex(trace_id) = '{trace.hex().upper()}' ORDER BY span_id"
    ).collect()
    assert [(bytes(r[0]), r[1], r[2]) for r in got] == want
    assert len(want) >= 1


@pytest.mark.timeout(900)
def test_spark_reads_the_nanosecond_times_as_microseconds(lake: tuple[Any, Path]) -> None:
    """What docs/schema.md tells Spark users: Iceberg's vectorized Parquet reader takes the
    files' nanosecond values for microseconds; ``unix_micros(t) DIV 1000`` is the time."""
    spark, warehouse = lake
    spans = read_table(warehouse, "traces")
    first_us = min(spans.column("start_time").cast("int64").to_pylist()) // 1000
    row = spark.sql(
        "SELECT min(unix_micros(start_time)) DIV 1000 AS t FROM otlp_arrow.otel.traces"
    ).collect()[0]
    assert row["t"] == first_us

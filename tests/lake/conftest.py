"""Fixtures of the Iceberg tests: sealed files written by the real library; catalogs: SQLite,
a real PostgreSQL server, a real REST catalog server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from otlp_arrow import OtlpLibrary
from otlp_arrow.lake import spark as lake_spark
from otlp_arrow.lake.iceberg import Committer
from tests import sample
from tests.helpers import T0
from tests.lake import rest_catalog
from tests.lake.postgres import postgres, server_binaries


def write_sealed(out: Path, n: int = 40, seed: int = 1, start_ns: int = T0) -> None:
    """One sealed Parquet file per signal under ``out``, written by OtlpLibrary."""
    with OtlpLibrary(output_dir=out, write_interval="10ms") as lib:
        lib.export_traces(sample.traces(n, start_ns=start_ns, seed=seed))
        lib.export_metrics(sample.metrics(n, time_ns=start_ns, seed=seed))
        lib.export_logs(sample.logs(n, start_ns=start_ns, seed=seed))


SPARK_JARS = ("iceberg-spark-runtime", "sqlite-jdbc", "iceberg-aws-bundle")


def start_spark(conf: dict[str, str]) -> Any:
    """A local-mode SparkSession (one core, loopback only, no UI) with every jar of
    ``lake_spark.jars()`` and the settings ``conf`` (``lake_spark.spark_conf``): skipped where
    Java or the jars are missing, a failure on CI."""
    fetched = " ".join(j.name for j in lake_spark.jars())
    missing = [j for j in SPARK_JARS if j not in fetched]
    reason = None
    if shutil.which("java") is None:
        reason = "Java is not installed (Spark needs it)"
    elif missing:
        reason = f"{missing} not in {lake_spark.JARS_DIR} (run scripts/fetch-jars.sh)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[1]")
        .appName("otlp-arrow-tests")
        .config("spark.jars", ",".join(str(j) for j in lake_spark.jars()))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "1")
    )
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def parquet_files(out: Path, signal: str) -> list[str]:
    return sorted(str(p) for p in (out / signal).rglob("*.parquet") if "metadata" not in p.parts)


def to_micros(table: pa.Table) -> pa.Table:
    """``table`` with every time cut to whole microseconds (what Iceberg v2 readers see)."""
    from otlp_arrow.lake.schema import _cast

    columns = []
    for f, column in zip(table.schema, table.columns, strict=True):
        micro = _cast(column, _time_unit(f.type, "us"))
        columns.append(_cast(micro, f.type))
    return pa.Table.from_arrays(columns, schema=table.schema)


def null_lists_empty(table: pa.Table) -> pa.Table:
    """``table`` with null lists of structs as empty lists: pyiceberg 0.12 scans them so
    (docs/schema.md; the files keep the null, and ``metric_type`` tells which it was)."""
    import pyarrow.compute as pc

    columns = []
    for f, column in zip(table.schema, table.columns, strict=True):
        if isinstance(f.type, pa.ListType) and pa.types.is_struct(f.type.value_type):
            empty = pa.scalar([], type=f.type)
            column = pc.if_else(pc.is_null(column), empty, column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def _time_unit(t: pa.DataType, unit: str) -> pa.DataType:
    from otlp_arrow.schema import map_timestamps

    return map_timestamps(t, pa.timestamp(unit, tz="UTC"))


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    out = tmp_path / "data"
    out.mkdir()
    return out


@pytest.fixture
def committer(warehouse: Path) -> Committer:
    return Committer(f"sqlite:///{warehouse.parent / 'catalog.db'}", str(warehouse))


@pytest.fixture(params=["sqlite", "postgresql", "rest"])
def catalog(request: pytest.FixtureRequest, warehouse: Path) -> Iterator[str]:
    """A catalog's URI for ``warehouse``: a SQLite file, a real PostgreSQL server (Debian's),
    or a real Iceberg REST catalog server (``rest_catalog``), one per test. Where a server
    cannot run, the test is skipped (failed on CI)."""
    if request.param == "sqlite":
        yield f"sqlite:///{warehouse.parent / 'catalog.db'}"
    elif request.param == "rest":
        rest_catalog.require()
        with rest_catalog.rest_catalog(warehouse) as url:
            yield url
    else:
        binaries = server_binaries()
        if binaries is None:
            reason = "PostgreSQL's server is not installed (scripts/setup.sh installs it as root)"
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        with postgres(binaries) as uri:
            yield uri

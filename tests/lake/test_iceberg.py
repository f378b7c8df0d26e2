"""The Iceberg committer on a real SQLite catalog and real sealed files: commits add files as
they are, once; repair; the schema mapping read back with pyiceberg; retention."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otlp_arrow import ConfigError, StorageError
from otlp_arrow.cli import main
from otlp_arrow.lake import retention
from otlp_arrow.lake.iceberg import Committer
from otlp_arrow.lake.schema import iceberg_schema, to_arrow
from otlp_arrow.schema import SIGNALS
from otlp_arrow.storage import compact
from otlp_arrow.storage.reader import read_table
from otlp_arrow.storage.retention import RetentionPolicy
from tests.helpers import T0
from tests.lake.conftest import null_lists_empty, parquet_files, to_micros, write_sealed


def test_a_sealed_file_is_added_as_it_is_and_only_once(
    warehouse: Path, committer: Committer
) -> None:
    write_sealed(warehouse)
    files = parquet_files(warehouse, "traces")
    before = {f: Path(f).read_bytes() for f in files}
    assert committer.commit("traces", files) == len(files)
    assert committer.commit("traces", files) == 0  # already there: skipped
    assert committer.stats.files_skipped == len(files)
    table = committer.table("traces")
    assert sorted(table.inspect.files().column("file_path").to_pylist()) == files
    assert {f: Path(f).read_bytes() for f in files} == before  # not rewritten
    assert table.scan().to_arrow().num_rows == 40
    assert len(table.metadata.snapshots) == 1


def test_pyiceberg_reads_back_what_our_reader_reads(warehouse: Path, committer: Committer) -> None:
    """Lossless up to the microsecond: the times Iceberg v2 can hold (docs/schema.md)."""
    write_sealed(warehouse)
    for signal in SIGNALS:
        committer.commit(signal, parquet_files(warehouse, signal))
        scanned = to_arrow(committer.table(signal).scan().to_arrow(), signal)
        ours = read_table(warehouse, signal)
        assert scanned.schema.equals(ours.schema, check_metadata=True)
        key = "span_id" if signal == "traces" else "attributes"
        if signal != "traces":  # no unique id: compare in file order (one file per signal)
            assert scanned.equals(null_lists_empty(to_micros(ours))), signal
        else:
            order = [("span_id", "ascending")]
            assert scanned.sort_by(order).equals(to_micros(ours).sort_by(order)), key


def test_scan_to_duckdb_and_polars(warehouse: Path, committer: Committer) -> None:
    """The documented engines on pyiceberg's scan (docs/scale-out.md)."""
    write_sealed(warehouse)
    committer.commit("traces", parquet_files(warehouse, "traces"))
    table = committer.table("traces")
    scan = table.scan(selected_fields=("service_name", "duration_ns", "trace_id"))
    query = "SELECT service_name::VARCHAR, quantile_cont(duration_ns, 0.99) FROM {} GROUP BY 1"
    by_scan = scan.to_duckdb(table_name="spans").sql(query.format("spans")).fetchall()
    t = read_table(warehouse, "traces")  # DuckDB finds it by its name
    by_reader = duckdb.connect().sql(query.format("t")).fetchall()
    assert sorted(by_scan) == sorted(by_reader) and len(by_scan) == 3
    frame = pl.from_arrow(scan.to_arrow())
    assert isinstance(frame, pl.DataFrame) and frame.height == t.num_rows


def test_repair_commits_what_no_snapshot_references_once(
    warehouse: Path, committer: Committer
) -> None:
    write_sealed(warehouse, seed=1)
    first = parquet_files(warehouse, "logs")
    committer.commit("logs", first)
    write_sealed(warehouse, seed=2)  # sealed, never committed (a crash in between)
    done = committer.repair()
    assert done == {"traces": 2, "metrics": 2, "logs": 1}
    assert committer.repair() == {"traces": 0, "metrics": 0, "logs": 0}
    assert committer.table("logs").scan().to_arrow().num_rows == 80


def test_a_file_of_another_signal_is_refused(warehouse: Path, committer: Committer) -> None:
    write_sealed(warehouse)
    with pytest.raises(StorageError, match="not an otlp-arrow traces file"):
        committer.commit("traces", parquet_files(warehouse, "logs"))
    other = warehouse / "traces" / "foreign.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    with pytest.raises(StorageError, match="not an otlp-arrow traces file"):
        committer.commit("traces", [str(other)])


def test_a_missing_file_is_a_storage_error(warehouse: Path, committer: Committer) -> None:
    with pytest.raises(StorageError, match="cannot read the footer"):
        committer.commit("traces", [str(warehouse / "traces" / "gone.parquet")])


@pytest.mark.parametrize("catalog", ["sqlite", "rest"], indirect=True)
def test_retention_commits_the_delete_expires_then_deletes(warehouse: Path, catalog: str) -> None:
    committer = Committer(catalog, str(warehouse))
    day = 86400 * 10**9
    write_sealed(warehouse, seed=1, start_ns=T0)  # old
    old = parquet_files(warehouse, "traces")
    write_sealed(warehouse, seed=2, start_ns=T0 + 10 * day)  # ten days newer
    new = sorted(set(parquet_files(warehouse, "traces")) - set(old))
    committer.repair()
    table = committer.table("traces")
    now = T0 / 1e9 + 12 * 86400
    policy = RetentionPolicy(max_age_s=5 * 86400, max_bytes=0)
    assert retention.apply(committer, "traces", now, policy) == 40
    table.refresh()
    assert len(table.metadata.snapshots) == 1  # the older ones expired
    remaining = table.inspect.all_data_files().column("file_path").to_pylist()
    assert sorted(remaining) == new
    assert not Path(old[0]).exists()
    assert all(Path(f).exists() for f in new)
    assert table.scan().to_arrow().num_rows == 40
    assert retention.apply(committer, "traces", now, policy) == 0  # nothing more to do


@pytest.mark.parametrize("catalog", ["sqlite", "rest"], indirect=True)
def test_repair_deletes_what_retention_had_removed(warehouse: Path, catalog: str) -> None:
    """A crash after retention's commit, before the object went: deleted, not re-added."""
    committer = Committer(catalog, str(warehouse))
    write_sealed(warehouse, start_ns=T0)
    policy = RetentionPolicy(max_age_s=86400, max_bytes=0)
    committer.repair({"traces": policy})
    assert committer.table("traces").current_snapshot() is None
    assert parquet_files(warehouse, "traces") == []


def test_retention_by_size_removes_the_oldest_first(warehouse: Path, committer: Committer) -> None:
    day = 86400 * 10**9
    write_sealed(warehouse, seed=1, start_ns=T0)
    old = parquet_files(warehouse, "metrics")
    write_sealed(warehouse, seed=2, start_ns=T0 + day)
    files = old + sorted(set(parquet_files(warehouse, "metrics")) - set(old))
    committer.repair()
    newest = Path(files[-1]).stat().st_size
    policy = RetentionPolicy(max_age_s=0, max_bytes=newest)
    assert retention.apply(committer, "metrics", time.time(), policy) > 0
    assert [Path(f).exists() for f in files] == [False, True]


def test_racing_creators_share_one_table(warehouse: Path) -> None:
    uri = f"sqlite:///{warehouse.parent / 'catalog.db'}"
    a, b = Committer(uri, str(warehouse)), Committer(uri, str(warehouse))
    assert a.table("logs").metadata.table_uuid == b.table("logs").metadata.table_uuid


def test_the_schema_mapping() -> None:
    """What docs/schema.md says each column becomes."""
    schema = iceberg_schema("traces")
    types = {f.name: str(f.field_type) for f in schema.fields}
    assert types["trace_id"] == "fixed[16]"
    assert types["span_id"] == "fixed[8]"
    assert types["start_time"] == "timestamptz"
    assert types["flags"] == "long"  # uint32
    assert types["name"] == "string"  # dictionary<string>
    assert types["attributes"].startswith("map<string, struct<")
    assert types["events"].startswith("list<struct<")
    assert schema.find_field("trace_id").required
    assert not schema.find_field("parent_span_id").required
    metrics = {f.name: str(f.field_type) for f in iceberg_schema("metrics").fields}
    assert metrics["bucket_counts"] == "list<long>"  # uint64


def test_catalog_settings_are_checked() -> None:
    from otlp_arrow.config import Config

    assert Config.load(iceberg_catalog="sqlite:///x/catalog.db").iceberg_namespace == "otel"
    assert Config.load(iceberg_catalog="http://rest:8181").iceberg_catalog == "http://rest:8181"
    with pytest.raises(ConfigError, match="iceberg_catalog"):
        Config.load(iceberg_catalog="ftp://x")
    with pytest.raises(ConfigError, match="iceberg_namespace"):
        Config.load(iceberg_namespace="a b")


def test_a_relative_sqlite_catalog_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sqlite:///x.db`` (three slashes) is relative to the current directory: resolved when
    the setting is read, so processes started elsewhere, the log and Spark's JDBC URL all name
    the one file; four slashes are absolute and kept."""
    from otlp_arrow.config import Config

    monkeypatch.chdir(tmp_path)
    relative = Config.load(env={}, iceberg_catalog="sqlite:///x/catalog.db").iceberg_catalog
    assert relative == f"sqlite:///{tmp_path / 'x' / 'catalog.db'}"
    absolute = "sqlite:////var/lib/otlp-arrow/catalog.db"
    assert Config.load(env={}, iceberg_catalog=absolute).iceberg_catalog == absolute


def test_catalog_credentials_are_refused() -> None:
    from otlp_arrow.config import Config

    with pytest.raises(ConfigError, match="PGPASSWORD") as info:
        Config.load(iceberg_catalog="postgresql://otel:hunter2@db/otel")
    assert "hunter2" not in str(info.value)
    assert Config.load(iceberg_catalog="postgresql://otel@db/otel").iceberg_catalog


@pytest.mark.parametrize("uri", ["mysql://otel@db/otel", "mysql+pymysql://otel@db/otel"])
def test_a_mysql_catalog_is_refused_naming_what_is_supported(uri: str) -> None:
    """MySQL catalogs are not tested: refused when the setting is read, not at the first
    commit with an error from SQLAlchemy about a missing driver."""
    from otlp_arrow.config import Config

    with pytest.raises(ConfigError, match=r"MySQL .*not supported.*sqlite.*postgresql"):
        Config.load(env={}, iceberg_catalog=uri)


def test_a_postgresql_catalog_without_its_driver_says_which_to_install(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otlp_arrow.lake.catalog import open_catalog

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"psycopg\[binary\]"):
        open_catalog("postgresql://otel@127.0.0.1:1/otel", str(warehouse))


def test_compaction_leaves_the_files_of_an_iceberg_table_alone(
    warehouse: Path, committer: Committer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Merging a table's files outside the table would delete files its snapshots name: the
    table's files are compacted by its engine (docs/storage.md), not by ``compact``."""
    for seed in (1, 2, 3):  # three small files of this hour, each committed
        write_sealed(warehouse, n=10, seed=seed)
    files = parquet_files(warehouse, "traces")
    assert len(files) == 3
    committer.commit("traces", files)
    for _ in range(2):  # the second pass would delete merged inputs (no grace)
        stats = compact.compact_signal(warehouse / "traces", settle_s=None, grace_s=0)
        assert stats.files_merged == 0
    assert main(["compact", "--output-dir", str(warehouse), "--all", "--signal", "traces"]) == 0
    assert "traces: an Iceberg table, left to its engine" in capsys.readouterr().out
    assert parquet_files(warehouse, "traces") == files
    assert committer.table("traces").scan().to_arrow().num_rows == 30
    logs = parquet_files(warehouse, "logs")  # not a table here: compacted as before
    assert compact.compact_signal(warehouse / "logs", settle_s=None, grace_s=0).files_merged
    assert len(parquet_files(warehouse, "logs")) < len(logs)

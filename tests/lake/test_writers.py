"""Several writers on one catalog, and crashes: real processes, real catalogs (the ``catalog``
fixture: SQLite, PostgreSQL, Iceberg's REST catalog server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from otlp_arrow.lake.iceberg import Committer
from otlp_arrow.service import Service
from tests import sample
from tests.helpers import T0
from tests.lake.conftest import parquet_files, write_sealed

COMMIT_EACH = """
import sys, time
from otlp_arrow.lake.iceberg import Committer
catalog, warehouse, pause, *files = sys.argv[1:]
committer = Committer(catalog, warehouse)
for path in files:
    committer.commit("traces", [path])
    print("committed", path, flush=True)
    time.sleep(float(pause))
print("conflicts", committer.stats.conflicts, flush=True)
"""


def _writer(
    catalog: str, warehouse: Path, files: list[str], pause: float = 0
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", COMMIT_EACH, catalog, str(warehouse), str(pause), *files],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_commit_concurrently_nothing_lost_nothing_twice(
    warehouse: Path, catalog: str
) -> None:
    for seed in range(1, 7):
        write_sealed(warehouse / f"w{seed}", n=10, seed=seed)
    files = [f for seed in range(1, 7) for f in parquet_files(warehouse / f"w{seed}", "traces")]
    committer = Committer(catalog, str(warehouse))
    committer.table("traces")  # created once; the writers race on commits only
    # each commits its own half plus the same shared pair (racing to add the same files)
    a = _writer(catalog, warehouse, files[:2] + files[2:4])
    b = _writer(catalog, warehouse, files[2:4] + files[4:])
    _, err_a = a.communicate(timeout=300)
    _, err_b = b.communicate(timeout=300)
    assert a.returncode == 0 and b.returncode == 0, err_a + err_b
    committed = committer.table("traces").inspect.files().column("file_path").to_pylist()
    assert sorted(committed) == sorted(files)  # each once
    assert committer.table("traces").scan().to_arrow().num_rows == 60
    committer.close()


@pytest.mark.parametrize("catalog", ["sqlite", "rest"], indirect=True)
def test_kill_9_between_upload_and_commit_is_repaired_once(warehouse: Path, catalog: str) -> None:
    for seed in (1, 2, 3):
        write_sealed(warehouse, n=10, seed=seed)
    files = parquet_files(warehouse, "traces")
    committer = Committer(catalog, str(warehouse))
    proc = _writer(catalog, warehouse, files, pause=600)  # commits one, then "hangs"
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("committed")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert len(committer.referenced("traces")) == 1
    assert committer.repair()["traces"] == len(files) - 1
    assert committer.repair()["traces"] == 0
    committed = committer.table("traces").inspect.files().column("file_path").to_pylist()
    assert sorted(committed) == sorted(files)


@pytest.mark.parametrize("catalog", ["sqlite", "rest"], indirect=True)
def test_the_service_commits_what_it_seals(warehouse: Path, catalog: str) -> None:
    out = warehouse
    settings = {"grpc_port": None, "http_port": None, "write_interval": "10ms"}
    with Service(output_dir=out, iceberg_catalog=catalog, **settings) as service:
        assert service.compactor is None  # the tables' files are not merged behind them
        service.library.export_traces(sample.traces(30, start_ns=T0))
        service.library.export_logs(sample.logs(20, start_ns=T0))
    committer = Committer(catalog, str(out))
    assert committer.table("traces").scan().to_arrow().num_rows == 30
    assert committer.table("logs").scan().to_arrow().num_rows == 20
    assert sorted(committer.referenced("traces")) == parquet_files(out, "traces")
    # a restart finds nothing to repair; a file sealed but not committed is repaired
    write_sealed(out, n=5, seed=9)
    with Service(output_dir=out, iceberg_catalog=catalog, **settings) as service:
        assert service.lake is not None
        assert service.lake.committed_at_start == {"traces": 1, "metrics": 1, "logs": 1}
        assert service.lake.enforce_retention() == 0  # no retention set
    assert committer.table("traces").scan().to_arrow().num_rows == 35


def test_a_catalog_needs_sealed_files(tmp_path: Path) -> None:
    import pytest

    from otlp_arrow import ConfigError

    with pytest.raises(ConfigError, match="seal=parquet"):
        Service(
            output_dir=tmp_path / "d",
            iceberg_catalog=f"sqlite:///{tmp_path / 'c.db'}",
            seal="off",
            grpc_port=None,
            http_port=None,
        )

"""Retention: the pure plan, and real deletions of files the writer really wrote."""

from __future__ import annotations

import os
import time
from pathlib import Path

from otlp_arrow import OtlpLibrary, read_table
from otlp_arrow.storage.fs import FileInfo
from otlp_arrow.storage.retention import RetentionPolicy, plan
from tests.helpers import data_files, span_batch

NOW = 1_000_000.0


def _files(*ages_and_sizes: tuple[float, int]) -> list[FileInfo]:
    return [
        FileInfo(Path(f"f{i}"), size, NOW - age) for i, (age, size) in enumerate(ages_and_sizes)
    ]


def test_plan_by_age_deletes_only_what_is_too_old() -> None:
    files = _files((500, 10), (100, 10), (10, 10))
    doomed = plan(files, NOW, RetentionPolicy(max_age_s=200, max_bytes=0))
    assert [f.path.name for f in doomed] == ["f0"]


def test_plan_by_size_deletes_oldest_first_and_never_the_open_file() -> None:
    files = _files((300, 40), (200, 40), (100, 40), (0, 40))
    doomed = plan(files, NOW, RetentionPolicy(max_age_s=0, max_bytes=90), keep={Path("f0")})
    assert [f.path.name for f in doomed] == ["f1", "f2"]  # f0 is being written: kept
    assert plan(files, NOW, RetentionPolicy(0, 0)) == []


def test_plan_combines_age_and_size() -> None:
    files = _files((300, 40), (200, 40), (100, 40), (0, 40))
    doomed = plan(files, NOW, RetentionPolicy(max_age_s=250, max_bytes=50))
    assert [f.path.name for f in doomed] == ["f0", "f1", "f2"]


def test_plan_keeps_unforwarded_files_from_age_but_not_from_size() -> None:
    files = _files((300, 40), (200, 40), (100, 40), (0, 40))
    protected = {Path("f0"), Path("f1")}
    by_age = plan(files, NOW, RetentionPolicy(max_age_s=150, max_bytes=0), protected=protected)
    assert by_age == []  # f0 and f1 are old enough, but not forwarded yet
    both = plan(files, NOW, RetentionPolicy(max_age_s=250, max_bytes=90), protected=protected)
    assert [f.path.name for f in both] == ["f0", "f1"]  # the size limit forces it
    size = plan(files, NOW, RetentionPolicy(0, 90), keep={Path("f0")}, protected=protected)
    assert [f.path.name for f in size] == ["f1", "f2"]


def test_retention_by_size_on_real_files(tmp_path: Path) -> None:
    with OtlpLibrary(
        output_dir=tmp_path,
        rotate_bytes="16KiB",
        write_interval="10ms",
        traces_retention_bytes="60KiB",
        # only the call below enforces it: a background pass at the same moment would hold
        # (claim) a file this one then leaves to it, still there when the test lists them
        retention_interval="1h",
        seal="off",
    ) as library:
        for seed in range(12):
            library.export_traces(span_batch(100, seed))
            library.flush()
        before = data_files(tmp_path, "traces")
        assert sum(f.stat().st_size for f in before) > 60 * 1024
        library._writer.enforce_retention()
        after = data_files(tmp_path, "traces")
        assert sum(f.stat().st_size for f in after) <= 60 * 1024
        assert after == before[-len(after) :]  # the newest files are the ones kept
        assert library.stats()["files_deleted"] == len(before) - len(after)
    rows = read_table(tmp_path, "traces").num_rows
    assert 0 < rows < 1200 and rows % 100 == 0


def test_retention_by_age_runs_by_itself_and_removes_empty_partitions(tmp_path: Path) -> None:
    with OtlpLibrary(
        output_dir=tmp_path, write_interval="10ms", retention_age="1h", retention_interval="1s"
    ) as library:
        library.export_logs(_old_logs())
        library.flush()
        library._writer.writers["logs"].close()  # the file is sealed in the background
        deadline = time.monotonic() + 5
        while library.stats()["files_sealed"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        (old,) = data_files(tmp_path, "logs", ".parquet")  # retention deletes sealed files
        two_hours_ago = time.time() - 7200
        os.utime(old, (two_hours_ago, two_hours_ago))
        deadline = time.monotonic() + 5
        while old.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not old.exists()
        assert not old.parent.exists()  # the empty hour=.. directory went too
        assert (tmp_path / "logs").is_dir()


def _old_logs() -> object:
    from tests import sample

    return sample.logs(10, start_ns=1)

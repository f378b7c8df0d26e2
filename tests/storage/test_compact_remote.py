"""Compaction of the objects in a bucket (an s3:// output): small objects merged into sorted,
sized ones, each row seen once by every reader at every step, one compactor per partition at a
time (leases), against a real S3 API (moto in server mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otlp_arrow import OtlpLibrary, connect, otlp_to_arrow, read_table
from otlp_arrow.schema import SIGNALS
from otlp_arrow.storage import compact, compact_remote
from otlp_arrow.storage import parquet_format as fmt
from otlp_arrow.storage.objects import Bucket, open_bucket
from tests import sample
from tests.conftest import S3
from tests.helpers import T0

SAMPLES = {
    "traces": lambda seed: sample.traces(150, start_ns=T0, seed=seed),
    "metrics": lambda seed: sample.metrics(90, time_ns=T0, seed=seed),
    "logs": lambda seed: sample.logs(80, start_ns=T0, seed=seed),
}
REPO = Path(__file__).parents[2]


def _write(s3: S3, spool: Path, rounds: int = 5) -> None:
    """Several small sealed objects per signal (one per rotation), all in this hour."""
    with OtlpLibrary(
        output_dir=s3.uri, spool_dir=spool, write_interval="10ms", rotate_bytes="16KiB"
    ) as lib:
        for seed in range(rounds):
            for name, make in SAMPLES.items():
                getattr(lib, f"export_{name}")(otlp_to_arrow(make(seed)))
            lib.flush()


def _rows(table: pa.Table) -> list[tuple[str, ...]]:
    return sorted(tuple(str(v) for v in row.values()) for row in table.to_pylist())


def _objects(s3: S3, name: str) -> list[str]:
    return [k for k in s3.keys(f"otel/{name}/") if k.endswith(".parquet")]


def _merged(s3: S3, name: str) -> list[str]:
    return [k for k in _objects(s3, name) if compact.is_merged(Path(k))]


def _seen(s3: S3, spool: Path, name: str) -> list[tuple[str, ...]]:
    """What the readers see, checked to agree: connect() (DuckDB too) and read_table()."""
    store = connect(s3.uri, spool_dir=spool)
    rows = _rows(getattr(store, name)())
    assert _rows(read_table(s3.uri, name)) == rows
    count = store.sql(f"SELECT count(*) AS n FROM {name}").column("n").to_pylist()
    assert count == [len(rows)]
    return rows


@pytest.mark.parametrize("name", SIGNALS)
def test_small_objects_are_merged_and_every_reader_sees_each_row_once(
    s3: S3, tmp_path: Path, name: str
) -> None:
    spool = tmp_path / "spool"
    _write(s3, spool)
    inputs = _objects(s3, name)
    assert len(inputs) > 2
    before = _seen(s3, spool, name)
    bucket = open_bucket(s3.uri)
    stats = compact_remote.compact_signal(bucket, name, spool, settle_s=None, grace_s=60)
    assert (stats.files_merged, stats.files_written, stats.inputs_deleted) == (len(inputs), 1, 0)
    assert stats.rows == len(before)
    [merged] = _merged(s3, name)
    assert len(_objects(s3, name)) == len(inputs) + 1  # the inputs stay for the grace period
    assert _seen(s3, spool, name) == before  # ... and are not read twice meanwhile
    local = tmp_path / "merged.parquet"
    s3.client.download_file(s3.bucket, merged, str(local))
    footer = pq.read_metadata(local).metadata
    assert sorted(json.loads(footer[compact.INPUTS_KEY])) == sorted(Path(k).name for k in inputs)
    table = pq.read_table(local)
    assert table.equals(fmt.sort_rows(table, name))  # rows sorted by the signal's keys
    assert not list(spool.rglob("*.parquet"))  # nothing left behind in the scratch space
    # a later pass, after the grace period: the inputs go, the answers stay
    again = compact_remote.compact_signal(bucket, name, spool, settle_s=None, grace_s=0)
    assert (again.files_merged, again.inputs_deleted) == (0, len(inputs))
    assert _objects(s3, name) == [merged]
    assert _seen(s3, spool, name) == before
    idle = compact_remote.compact_signal(bucket, name, spool, settle_s=None, grace_s=0)
    assert (idle.partitions_leased, idle.files_merged, idle.inputs_deleted) == (0, 0, 0)
    assert not [k for k in s3.keys("otel/") if compact_remote.LEASE_PREFIX in k]  # released


def test_the_current_hour_and_big_objects_are_left_alone(s3: S3, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    _write(s3, spool, rounds=3)
    bucket = open_bucket(s3.uri)
    stats = compact_remote.compact_signal(bucket, "traces", spool)  # the hour has not ended
    assert stats.files_merged == 0
    stats = compact_remote.compact_signal(
        bucket, "traces", spool, settle_s=None, small_bytes=100
    )  # every object is "big"
    assert stats.files_merged == 0
    assert _merged(s3, "traces") == []


def _lease(bucket: Bucket, partition: str, token: str) -> None:
    with bucket.filesystem.open_output_stream(
        bucket.path(f"{partition}/{compact_remote.LEASE_PREFIX}{token}")
    ) as sink:
        sink.write(b"another compactor")


def test_a_partition_leased_by_another_compactor_is_left_until_the_lease_expires(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the merge must upload within half its (here 1 s) lease; on a loaded machine it may take
    # longer, so the compactor's own clock stands still: this test is about the other lease
    monkeypatch.setattr(compact_remote, "_clock", lambda: 0.0)
    spool = tmp_path / "spool"
    _write(s3, spool, rounds=3)
    bucket = open_bucket(s3.uri)
    partition = str(Path(_objects(s3, "traces")[0]).parent.relative_to("otel"))
    _lease(bucket, partition, "0123abcd")  # a compactor at work (or killed at work)
    stats = compact_remote.compact_signal(bucket, "traces", spool, settle_s=None, lease_s=600)
    assert stats.files_merged == 0 and stats.partitions_busy == 1
    assert len([k for k in s3.keys("otel/") if compact_remote.LEASE_PREFIX in k]) == 1
    time.sleep(2.2)  # S3 times are whole seconds: the lease is now 2 s older than ours
    stats = compact_remote.compact_signal(bucket, "traces", spool, settle_s=None, lease_s=1)
    assert stats.files_written == 1 and stats.partitions_busy == 0
    assert not [k for k in s3.keys("otel/") if compact_remote.LEASE_PREFIX in k]


def test_a_merge_that_outlasts_half_its_lease_is_not_uploaded(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    _write(s3, spool, rounds=3)
    before = sorted(_objects(s3, "traces"))
    ticks = iter(range(0, 10**6, 400))  # each look at the clock: 400 s later
    monkeypatch.setattr(compact_remote, "_clock", lambda: float(next(ticks)))
    bucket = open_bucket(s3.uri)
    stats = compact_remote.compact_signal(bucket, "traces", spool, settle_s=None, lease_s=600)
    assert stats.partitions_leased == 1 and stats.files_written == 0
    assert sorted(_objects(s3, "traces")) == before  # nothing merged, nothing deleted
    assert not [k for k in s3.keys("otel/") if compact_remote.LEASE_PREFIX in k]
    assert "outlasted its lease" in caplog.text
    assert not list(spool.glob("**/*.tmp"))  # the scratch file is gone too


def test_compactors_racing_on_one_bucket_merge_each_object_once(s3: S3, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    _write(s3, spool, rounds=4)
    before = _seen(s3, spool, "traces")
    inputs = _objects(s3, "traces")
    results: list[compact_remote.CompactStats] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            for _ in range(3):
                results.append(
                    compact_remote.compact_signal(
                        open_bucket(s3.uri),
                        "traces",
                        tmp_path / f"scratch-{index}",
                        settle_s=None,
                        grace_s=3600,
                    )
                )
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.files_merged for r in results) == len(inputs)  # each input merged once
    assert len(_merged(s3, "traces")) == 1
    assert _seen(s3, spool, "traces") == before


def test_the_cli_compacts_a_bucket(s3: S3, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    _write(s3, spool, rounds=3)
    before = _seen(s3, spool, "logs")
    inputs = _objects(s3, "logs")
    args = ["compact", "--output-dir", s3.uri, "--signal", "logs", "--all", "--grace", "0"]
    done = subprocess.run(
        [sys.executable, "-m", "otlp_arrow.cli", *args],
        env={**os.environ, "OTLP_ARROW_SPOOL_DIR": str(spool)},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"logs: {len(inputs)} files ({len(before):,} rows) merged into 1" in done.stdout
    assert f"{len(inputs)} input files deleted" in done.stdout
    assert len(_objects(s3, "logs")) == 1
    assert _seen(s3, spool, "logs") == before


def test_the_service_compacts_the_hours_that_ended_in_its_bucket(s3: S3, tmp_path: Path) -> None:
    from otlp_arrow.service import Service

    spool = tmp_path / "spool"
    _write(s3, spool, rounds=3)
    for key in _objects(s3, "metrics"):  # the same objects, as an hour that ended long ago
        old = key.replace(
            str(Path(key).parent.relative_to("otel/metrics")), "date=2025-11-24/hour=10"
        )
        s3.client.copy_object(Bucket=s3.bucket, Key=old, CopySource=f"{s3.bucket}/{key}")
        s3.client.delete_object(Bucket=s3.bucket, Key=key)
    before = _seen(s3, spool, "metrics")
    inputs = _objects(s3, "metrics")
    stale = spool / ".compact" / ".metrics-x.parquet.0badc0de.tmp"  # left by a killed pass
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a merged file")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    service = Service(output_dir=s3.uri, spool_dir=spool, grpc_port=None, http_port=None)
    try:
        assert isinstance(service.compactor, compact_remote.BucketCompactor)
        service.compactor.run_once()
        assert service.compactor.errors == 0
    finally:
        service.library.shutdown()
    [merged] = _merged(s3, "metrics")
    assert "date=2025-11-24/hour=10/" in merged
    assert len(_objects(s3, "metrics")) == len(inputs) + 1  # inputs kept for the grace period
    assert _seen(s3, spool, "metrics") == before
    assert not stale.exists()


KILLED_COMPACTOR = """
import sys, time
from pathlib import Path
from otlp_arrow.storage import compact_remote
from otlp_arrow.storage.objects import Bucket, open_bucket

def stalled_upload(self, local, relative):
    print("uploading", flush=True)  # the merged file is written in the scratch space
    time.sleep(600)  # killed here

Bucket.upload = stalled_upload
uri, scratch = sys.argv[1:]
compact_remote.compact_signal(open_bucket(uri), "traces", Path(scratch), settle_s=None)
"""


def test_a_compactor_killed_mid_merge_leaves_nothing_visible_and_the_next_pass_recovers(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compact_remote, "_clock", lambda: 0.0)  # its own 1 s lease: see above
    spool = tmp_path / "spool"
    _write(s3, spool, rounds=3)
    before = _seen(s3, spool, "traces")
    inputs = _objects(s3, "traces")
    scratch = tmp_path / "scratch"
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_COMPACTOR, s3.uri, str(scratch)],
        stdout=subprocess.PIPE,
        text=True,
    ) as killed:
        try:
            assert killed.stdout is not None and killed.stdout.readline() == "uploading\n"
        finally:
            killed.kill()  # SIGKILL where the platform has it
            killed.wait(30)
    assert list(scratch.rglob("*.tmp"))  # its merged file, never uploaded
    assert _objects(s3, "traces") == inputs  # nothing new visible in the bucket
    assert _seen(s3, spool, "traces") == before
    bucket = open_bucket(s3.uri)
    busy = compact_remote.compact_signal(bucket, "traces", scratch, settle_s=None)
    assert busy.partitions_busy == 1 and busy.files_merged == 0  # its lease still holds
    time.sleep(2.2)  # then the lease (1 s here) expires
    done = compact_remote.compact_signal(bucket, "traces", scratch, settle_s=None, lease_s=1)
    assert done.files_merged == len(inputs) and done.files_written == 1
    assert not list(scratch.rglob("*.tmp"))  # the killed one's file is gone too
    assert not [k for k in s3.keys("otel/") if compact_remote.LEASE_PREFIX in k]
    assert _seen(s3, spool, "traces") == before


def test_readers_read_merged_footers_only_while_an_input_may_be_listed(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    _write(s3, spool, rounds=3)
    before = _seen(s3, spool, "logs")
    inputs = _objects(s3, "logs")
    kept = tmp_path / "an-input.parquet"  # for later: an input uploaded again
    s3.client.download_file(s3.bucket, inputs[0], str(kept))
    bucket = open_bucket(s3.uri)
    compact_remote.compact_signal(bucket, "logs", spool, settle_s=None, grace_s=0)
    reads: list[object] = []
    real = compact_remote.inputs_of

    def counted(*args: Any) -> frozenset[str]:
        reads.append(args)
        return real(*args)

    monkeypatch.setattr(compact_remote, "inputs_of", counted)
    assert _seen(s3, spool, "logs") == before
    assert reads == []  # a compacted partition: no footer read
    # a writer down across the merge uploads an input again when it restarts
    s3.client.upload_file(str(kept), s3.bucket, inputs[0])
    assert _seen(s3, spool, "logs") == before  # read once: the merged object names it
    assert reads


def test_a_group_beyond_the_memory_bound_is_merged_in_several_objects_in_one_pass(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    _write(s3, spool, rounds=5)
    before = _seen(s3, spool, "traces")
    inputs = _objects(s3, "traces")
    sizes = []
    for key in inputs:
        local = tmp_path / Path(key).name
        s3.client.download_file(s3.bucket, key, str(local))
        meta = pq.read_metadata(local)
        sizes.append(sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups)))
    monkeypatch.setattr(compact, "MAX_MERGE_BYTES", max(sizes) * 2)  # about two per merge
    bucket = open_bucket(s3.uri)
    done = compact_remote.compact_signal(bucket, "traces", spool, settle_s=None, grace_s=0)
    assert done.files_written > 1  # several merged objects in this one pass
    assert done.files_merged >= len(inputs) - 1  # at most one input left (a group of one)
    assert _seen(s3, spool, "traces") == before

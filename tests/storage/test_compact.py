"""Compaction: small sealed files merged into sorted, sized ones, lossless, each row seen once
by every reader at every moment (also across a kill -9 and a concurrent compactor)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otlp_arrow import OtlpLibrary, connect, otlp_to_arrow, read_table
from otlp_arrow.errors import StorageError
from otlp_arrow.schema import SIGNALS, schema_for
from otlp_arrow.storage import compact, locks
from otlp_arrow.storage import parquet_format as fmt
from otlp_arrow.storage.fs import FileInfo
from tests import sample
from tests.helpers import T0, data_files, temporaries

SAMPLES = {
    "traces": lambda seed: sample.traces(150, start_ns=T0, seed=seed),
    "metrics": lambda seed: sample.metrics(90, time_ns=T0, seed=seed),
    "logs": lambda seed: sample.logs(80, start_ns=T0, seed=seed),
}


def _write(out: Path, rounds: int = 6) -> None:
    """Several small sealed files per signal (one per rotation), all in this hour."""
    with OtlpLibrary(output_dir=out, write_interval="10ms", rotate_bytes="16KiB") as lib:
        for seed in range(rounds):
            for name, make in SAMPLES.items():
                getattr(lib, f"export_{name}")(otlp_to_arrow(make(seed)))
            lib.flush()


def _key(table: pa.Table) -> list[tuple[object, ...]]:
    """The rows of ``table`` as comparable tuples, in a fixed order (whatever the file order)."""
    rows = [tuple(str(v) for v in row.values()) for row in table.to_pylist()]
    return sorted(rows)


def _merged(out: Path, name: str) -> list[Path]:
    return [p for p in data_files(out, name, ".parquet") if compact.is_merged(p)]


@pytest.mark.parametrize("name", SIGNALS)
def test_compaction_merges_small_files_losslessly_and_sorted(tmp_path: Path, name: str) -> None:
    _write(tmp_path)
    before = read_table(tmp_path, name)
    inputs = data_files(tmp_path, name, ".parquet")
    assert len(inputs) > 2
    stats = compact.compact_signal(tmp_path / name, settle_s=None, grace_s=0)
    assert stats.files_merged == len(inputs) and stats.files_written == 1
    assert stats.inputs_deleted == len(inputs)
    (merged,) = data_files(tmp_path, name, ".parquet")
    assert compact.is_merged(merged)
    after = read_table(tmp_path, name)
    assert after.schema.equals(schema_for(name))  # the stored schema, dictionaries included
    assert after.num_rows == before.num_rows == stats.rows
    assert _key(after) == _key(before)  # the same rows, only their order changed
    assert after.equals(fmt.sort_rows(after, name))  # sorted by the signal's keys
    assert compact.inputs_of(merged) == {p.name for p in inputs}
    assert not list(merged.parent.glob(".*"))  # no temporary file left


@pytest.mark.parametrize("left", [".tmp", ".tmp" + locks.STAGING_SUFFIX])
def test_a_pass_deletes_what_a_killed_compactor_left(tmp_path: Path, left: str) -> None:
    """A compactor killed while writing leaves its temporary file, or (killed between creating
    it and taking its name) the staging file of that temporary file: nobody holds either."""
    _write(tmp_path, rounds=2)
    (first, *_) = data_files(tmp_path, "traces", ".parquet")
    target = compact.merged_path([first])
    orphan = target.parent / f".{target.name}.4242-0badcafe{left}"
    orphan.write_bytes(b"PAR1 half a file")
    past = orphan.stat().st_mtime - locks.STAGING_GRACE_S - 1  # a young staging file is kept
    os.utime(orphan, (past, past))
    compact.compact_signal(tmp_path / "traces", settle_s=None, grace_s=0)
    assert not orphan.exists()


def test_readers_see_each_row_once_between_rename_and_delete(tmp_path: Path) -> None:
    _write(tmp_path)
    rows = read_table(tmp_path, "traces").num_rows
    inputs = data_files(tmp_path, "traces", ".parquet")
    compact.compact_signal(tmp_path / "traces", settle_s=None)  # inputs kept for GRACE_S
    assert all(p.exists() for p in inputs)
    store = connect(tmp_path)
    assert read_table(tmp_path, "traces").num_rows == rows
    assert store.dataset("traces").count_rows() == rows
    assert store.sql("SELECT count(*) AS n FROM traces").column("n").to_pylist() == [rows]
    assert store.summary()[0].files == 1
    later = time.time() + compact.GRACE_S + 1
    stats = compact.compact_signal(tmp_path / "traces", now=later, settle_s=None)
    assert stats.inputs_deleted == len(inputs) and stats.files_written == 0
    assert not any(p.exists() for p in inputs)
    assert read_table(tmp_path, "traces").num_rows == rows


def test_a_merged_file_is_merged_again_with_new_small_files(tmp_path: Path) -> None:
    _write(tmp_path, rounds=3)
    first = data_files(tmp_path, "logs", ".parquet")
    compact.compact_signal(tmp_path / "logs", settle_s=None)  # inputs stay a while
    (one,) = _merged(tmp_path, "logs")
    _write(tmp_path, rounds=3)
    rows = read_table(tmp_path, "logs").num_rows
    compact.compact_signal(tmp_path / "logs", settle_s=None)
    (two,) = [p for p in _merged(tmp_path, "logs") if p != one]
    # the old inputs are named again: if ``one`` goes first, they stay hidden
    assert {p.name for p in first} | {one.name} <= compact.inputs_of(two)
    assert read_table(tmp_path, "logs").num_rows == rows
    one.unlink()
    assert read_table(tmp_path, "logs").num_rows == rows


def test_files_held_by_another_process_or_big_enough_are_left_alone(tmp_path: Path) -> None:
    _write(tmp_path)
    files = data_files(tmp_path, "metrics", ".parquet")
    with locks.Claim(files[0]) as owned:  # a retention pass or another compactor has it
        assert owned
        compact.compact_signal(tmp_path / "metrics", settle_s=None, grace_s=0)
    assert files[0].exists() and not files[1].exists()
    assert compact.inputs_of(_merged(tmp_path, "metrics")[0]) == {p.name for p in files[1:]}
    stats = compact.compact_signal(tmp_path / "metrics", settle_s=None, grace_s=0)
    assert stats.files_merged == 2  # the held one, and the merged file (still small)


def test_the_current_hour_waits_unless_asked(tmp_path: Path) -> None:
    _write(tmp_path, rounds=2)
    assert compact.compact_signal(tmp_path / "traces").files_written == 0  # hour not over
    hour_later = time.time() + 2 * 3600
    assert compact.compact_signal(tmp_path / "traces", now=hour_later).files_written == 1


class _Forwarder:
    """A guard as the forwarder is one: files at or below the watermark, or done, are sent."""

    def __init__(self, watermark: str, done: frozenset[str] = frozenset()) -> None:
        self.watermark = watermark
        self.done = done

    def unforwarded(self, signal: str, files: list[FileInfo]) -> set[Path]:
        del signal
        return {
            f.path for f in files if f.path.stem > self.watermark and f.path.stem not in self.done
        }

    def dropping(self, signal: str, files: list[FileInfo]) -> None:  # pragma: no cover
        raise AssertionError("compaction never drops files")


def test_only_forwarded_files_are_merged_under_a_name_the_cursor_counts_sent(
    tmp_path: Path,
) -> None:
    _write(tmp_path)
    files = data_files(tmp_path, "traces", ".parquet")
    guard = _Forwarder(files[-2].stem)  # the newest file is not forwarded yet
    compact.compact_signal(tmp_path / "traces", settle_s=None, grace_s=0, guard=guard)
    (merged,) = _merged(tmp_path, "traces")
    assert compact.inputs_of(merged) == {p.name for p in files[:-1]} and files[-1].exists()
    assert not guard.unforwarded("traces", [FileInfo(merged, 0, 0.0)])
    # new files, not forwarded: nothing more to merge. Written in a later second, as the real
    # cursor ensures (its watermark only passes names SETTLE_S old): within one second, a new
    # writer's names may sort below the watermark by their random token
    time.sleep(1.01 - time.time() % 1)
    _write(tmp_path, rounds=2)
    stats = compact.compact_signal(tmp_path / "traces", settle_s=None, guard=guard)
    assert stats.files_written == 0


def test_files_sent_but_not_under_the_watermark_wait(tmp_path: Path) -> None:
    _write(tmp_path, rounds=3)
    files = data_files(tmp_path, "traces", ".parquet")
    guard = _Forwarder("", done=frozenset(p.stem for p in files))  # sent, but a merged name is new
    stats = compact.compact_signal(tmp_path / "traces", settle_s=None, guard=guard)
    assert stats.files_written == 0 and data_files(tmp_path, "traces", ".parquet") == files


def test_damaged_files_are_left_alone_or_stop_their_merge(tmp_path: Path) -> None:
    _write(tmp_path, rounds=3)
    files = data_files(tmp_path, "logs", ".parquet")
    files[0].write_bytes(b"not parquet at all")  # no footer: never merged
    compact.compact_signal(tmp_path / "logs", settle_s=None, grace_s=0)
    assert files[0].exists() and compact.inputs_of(_merged(tmp_path, "logs")[0]) == {
        p.name for p in files[1:]
    }
    _write(tmp_path, rounds=3)
    fresh = [p for p in data_files(tmp_path, "logs", ".parquet") if p not in files]
    data = bytearray(fresh[1].read_bytes())
    data[4:400] = os.urandom(396)  # pages torn, footer intact
    fresh[1].write_bytes(bytes(data))
    with pytest.raises(StorageError, match="cannot compact"):
        compact.compact_signal(tmp_path / "logs", settle_s=None, grace_s=0)
    assert all(p.exists() for p in fresh)
    assert not list(fresh[0].parent.glob(".*"))


_LOOP = """
import sys, time
from pathlib import Path
from otlp_arrow.storage import compact
out = Path(sys.argv[1])
print("ready", flush=True)
while True:
    for name in ("traces", "metrics", "logs"):
        compact.compact_signal(out / name, settle_s=None, grace_s=float(sys.argv[2]))
"""


def _partitions(out: Path, hours: int) -> dict[str, int]:
    """Small sealed files in ``hours`` partitions per signal; the rows per signal."""
    _write(out, rounds=4)
    for name in SIGNALS:
        files = data_files(out, name, ".parquet")
        for hour in range(1, hours):
            target = out / name / "date=2026-01-01" / f"hour={hour:02d}"
            target.mkdir(parents=True)
            for path in files:
                pq.write_table(pq.read_table(path), target / path.name.replace("-", f"-{hour}", 1))
    return {name: read_table(out, name).num_rows for name in SIGNALS}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
def test_a_compactor_killed_at_any_point_leaves_every_row_once(
    tmp_path: Path, delay: float
) -> None:
    rows = _partitions(tmp_path, hours=6)
    proc = subprocess.Popen(
        [sys.executable, "-c", _LOOP, str(tmp_path), "0"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    time.sleep(delay)  # not an assertion: only where the kill lands
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    for name in SIGNALS:
        assert read_table(tmp_path, name).num_rows == rows[name]
    compact.compact_all(tmp_path, settle_s=None, grace_s=0)  # a restart finishes the work
    for name in SIGNALS:
        assert read_table(tmp_path, name).num_rows == rows[name]
        assert temporaries(tmp_path / name) == []  # the killed one's temporary file went


def test_readers_and_two_compactors_at_once_see_every_row_once(tmp_path: Path) -> None:
    rows = _partitions(tmp_path, hours=8)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _LOOP, str(tmp_path), "0.2"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        store = connect(tmp_path)
        for _ in range(15):
            assert read_table(tmp_path, "traces").num_rows == rows["traces"]
            count = store.sql("SELECT count(*) AS n FROM logs").column("n").to_pylist()
            assert count == [rows["logs"]]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
    for name in SIGNALS:
        assert read_table(tmp_path, name).num_rows == rows[name]
        merged = _merged(tmp_path, name)
        assert merged  # they did merge meanwhile
        names = [json.loads(pq.read_metadata(p).metadata[compact.INPUTS_KEY]) for p in merged]
        assert names


def test_the_compactor_thread_compacts_every_interval(tmp_path: Path) -> None:
    _write(tmp_path, rounds=3)
    compactor = compact.Compactor(tmp_path, 0.01, settle_s=None, grace_s=0).start()
    try:
        deadline = time.monotonic() + 30
        while compactor.passes < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        compactor.close()
    assert compactor.passes >= 2 and compactor.errors == 0
    for name in SIGNALS:
        assert len(data_files(tmp_path, name, ".parquet")) == 1


def test_the_compactor_counts_errors_and_goes_on(tmp_path: Path) -> None:
    _write(tmp_path, rounds=2)
    files = data_files(tmp_path, "traces", ".parquet")
    data = bytearray(files[1].read_bytes())
    data[4:400] = os.urandom(396)  # pages torn, footer intact
    files[1].write_bytes(bytes(data))
    compactor = compact.Compactor(tmp_path, 3600, settle_s=None, grace_s=0)
    compactor.run_once()
    compactor.close()
    assert compactor.errors == 1 and compactor.passes == 1
    assert len(data_files(tmp_path, "logs", ".parquet")) == 1  # the other signals went on


def test_the_cli_compacts_once_and_says_what_it_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from otlp_arrow.cli import main

    _write(tmp_path, rounds=3)
    rows = read_table(tmp_path, "traces").num_rows
    assert main(["compact", "--output-dir", str(tmp_path), "--signal", "traces"]) == 0
    assert "traces: 0 files (0 rows) merged into 0" in capsys.readouterr().out  # hour not over
    files = len(data_files(tmp_path, "traces", ".parquet"))
    argv = ["compact", "--output-dir", str(tmp_path), "--all", "--grace", "0"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"traces: {files} files ({rows:,} rows) merged into 1; {files} input files" in out
    assert "metrics: " in out and "logs: " in out
    assert len(data_files(tmp_path, "traces", ".parquet")) == 1
    assert main([*argv, "--grace", "-1"]) == 1
    assert "--grace -1: must not be negative" in capsys.readouterr().err


def test_the_service_runs_the_compactor_while_it_runs(tmp_path: Path) -> None:
    from otlp_arrow.service import Service

    service = Service(output_dir=tmp_path, grpc_port=0, http_port=None)
    assert service.compactor is not None and service.compactor.guard is None
    with service:
        assert service.compactor._thread.is_alive()
        assert service.compactor.interval_s == compact.INTERVAL_S
    assert not service.compactor._thread.is_alive()
    kept = Service(output_dir=tmp_path / "streams", grpc_port=0, http_port=None, seal="off")
    assert kept.compactor is None
    kept.library.shutdown()


def test_following_readers_do_not_show_compacted_rows_again(tmp_path: Path) -> None:
    from otlp_arrow.storage.reader import follow

    _write(tmp_path, rounds=3)
    stream = follow(tmp_path, ("traces",), 0.01)  # takes stock of what is there
    compact.compact_signal(tmp_path / "traces", settle_s=None, grace_s=0)
    with OtlpLibrary(output_dir=tmp_path, write_interval="10ms") as lib:
        lib.export_traces(otlp_to_arrow(sample.traces(7, start_ns=T0, seed=99)))
    shown = 0
    while shown < 7:
        signal_name, batch = next(stream)
        assert signal_name == "traces"
        shown += batch.num_rows
    assert shown == 7  # only the new spans, not the merged file's

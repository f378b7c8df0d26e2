"""Files a live process uses are locked; retention and sealing leave them alone, and a dead
process's left-overs are dealt with at the next start, not hours later."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from otlp_arrow import OtlpLibrary, read_table
from otlp_arrow.storage import locks, retention, seal
from otlp_arrow.storage.layout import SEALED_SUFFIX
from otlp_arrow.storage.retention import RetentionPolicy
from tests.helpers import EOS, data_files, span_batch, temporaries

HOLDER = """
import sys, time
from pathlib import Path
from otlp_arrow.storage import locks
handle = open(sys.argv[1], "ab")
locks.hold(handle, Path(sys.argv[1]))
print("held", flush=True)
time.sleep(120)
"""

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")


@contextmanager
def held_by_another_process(path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "held\n"
        yield proc
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()


def test_a_lock_lives_exactly_as_long_as_its_process(tmp_path: Path) -> None:
    path = tmp_path / "f.arrows"
    path.write_bytes(b"x")
    assert not locks.is_held(path)
    with held_by_another_process(path) as proc:
        assert locks.is_held(path)
        with path.open("ab") as handle, pytest.raises(Exception, match="in use"):
            locks.hold(handle, path)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert not locks.is_held(path)  # released by the OS: kill -9 leaves no stale lock
    with path.open("ab") as handle:  # held in this process: a second open sees it too
        locks.hold(handle, path)
        assert locks.is_held(path)
    assert not locks.is_held(path)
    assert not locks.is_held(tmp_path / "gone.arrows")


def test_retention_never_deletes_a_file_a_live_process_writes(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path, write_interval="10ms", seal="off") as library:
        for seed in range(3):
            library.export_traces(span_batch(50, seed))
            library.flush()
        (live,) = data_files(tmp_path, "traces")  # still open: this library writes it
        assert locks.is_held(live)
        everything = RetentionPolicy(max_age_s=0.001, max_bytes=1)
        deleted = retention.apply(tmp_path / "traces", 1e12, everything)
        assert deleted == [] and live.exists()
        library.export_traces(span_batch(50, 9))  # and the writer goes on into the same file
        library.flush()
    assert read_table(tmp_path, "traces").num_rows == 200


def test_a_killed_writers_stream_is_sealed_at_the_next_start(tmp_path: Path) -> None:
    traces = tmp_path / "traces"
    (part := traces / "date=2026-12-01" / "hour=09").mkdir(parents=True)
    with OtlpLibrary(output_dir=tmp_path / "src", write_interval="10ms", seal="off") as library:
        library.export_traces(span_batch(70, 1))
    (closed,) = data_files(tmp_path / "src", "traces")
    orphan = part / "traces-20261201T090000Z-999-000001-abcd1234.arrows"
    orphan.write_bytes(closed.read_bytes()[: -len(EOS)])  # a writer killed mid-file, just now
    live = part / "traces-20261201T090001Z-998-000001-abcd1234.arrows"
    live.write_bytes(closed.read_bytes()[: -len(EOS)])
    with held_by_another_process(live):
        assert seal.pending(traces) == [orphan]  # the live one is left alone
        with OtlpLibrary(output_dir=tmp_path, seal="parquet") as library:
            library.flush()
        assert live.exists() and not orphan.exists()
        assert orphan.with_suffix(SEALED_SUFFIX).exists()
    assert read_table(tmp_path, "traces").num_rows == 140


def test_temporary_files_of_a_killed_sealer_go_at_the_next_start(tmp_path: Path) -> None:
    part = tmp_path / "traces" / "date=2026-12-01" / "hour=09"
    part.mkdir(parents=True)
    dead = part / ".traces-x.parquet.999-aaaa.tmp"
    dead.write_bytes(b"half a parquet file")  # written a moment ago by a sealer now dead
    busy = part / ".traces-y.parquet.998-bbbb.tmp"
    busy.write_bytes(b"being written")
    with held_by_another_process(busy):
        seal.pending(tmp_path / "traces")
        assert not dead.exists() and busy.exists()


WRITER = """
import sys
from otlp_arrow import OtlpLibrary
from tests.helpers import span_batch
lib = OtlpLibrary(output_dir=sys.argv[1], write_interval="10ms", rotate_bytes="64KiB")
for seed in range(int(sys.argv[2]), 10**9):
    lib.export_traces(span_batch(60, seed))
    lib.flush()
    print(seed + 1 - int(sys.argv[2]), flush=True)
"""


def test_kill_minus_9_while_sealing_then_an_immediate_restart(tmp_path: Path) -> None:
    """Files rotate every couple of flushes and are sealed on the sealer's thread: a kill
    lands in the middle of sealing (or writing); the restart cleans up and seals at once."""
    flushed_rows = 0
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(10**6 * round_)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        flushed = 0
        while flushed < 20 + 7 * round_:
            flushed = int(proc.stdout.readline())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        flushed_rows += 60 * flushed
    OtlpLibrary(output_dir=tmp_path).shutdown()  # the restart
    traces = tmp_path / "traces"
    assert temporaries(traces) == []
    assert data_files(tmp_path, "traces") == []  # every stream sealed
    table = read_table(tmp_path, "traces")
    ids = table.column("span_id").to_pylist()
    assert len(ids) == len(set(ids))  # no row twice
    assert table.num_rows >= flushed_rows  # everything a returned flush() reported written


def test_locks_say_clearly_what_they_cannot_do(tmp_path: Path) -> None:
    """A directory is no file to lock: StorageError naming it, not a raw OSError."""
    with pytest.raises(Exception, match=str(tmp_path)) as info:
        locks.is_held(tmp_path)
    assert type(info.value).__name__ == "StorageError"
    with pytest.raises(Exception, match=str(tmp_path)), locks.Claim(tmp_path):
        pass
    gone = tmp_path / "gone.arrows"
    with locks.Claim(gone) as owned:
        assert owned is False
    assert locks.remove_if_free(gone, stop=tmp_path) is False


def test_a_claim_keeps_others_off_and_remove_if_free_respects_it(tmp_path: Path) -> None:
    path = tmp_path / "x.arrows"
    path.write_bytes(b"x")
    with locks.Claim(path) as owned:
        assert owned and locks.is_held(path)
        assert locks.remove_if_free(path, stop=tmp_path) is False  # claimed: left alone
    assert locks.remove_if_free(path, stop=tmp_path) is True and not path.exists()


def test_a_staging_file_not_yet_locked_is_left_alone(tmp_path: Path) -> None:
    """A file is created under its staging name, then locked, then renamed: in between it is
    unlocked. A sealer's start-up scan in that moment must not take it for a dead writer's (it
    deleted it, and the writer's rename failed: a fresh-clone CI run). A staging file that old
    is a dead process's, and goes."""
    part = tmp_path / "metrics" / "date=2026-12-01" / "hour=09"
    part.mkdir(parents=True)
    young = part / f".metrics-a.arrows{locks.STAGING_SUFFIX}"
    young.write_bytes(b"")  # created a moment ago, not yet locked
    old = part / f".metrics-b.arrows{locks.STAGING_SUFFIX}"
    old.write_bytes(b"")
    past = old.stat().st_mtime - locks.STAGING_GRACE_S - 1
    os.utime(old, (past, past))
    seal.pending(tmp_path / "metrics")
    assert young.exists() and not old.exists()

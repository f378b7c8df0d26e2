"""Readers recover every complete batch: live files, cut files, killed writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from otlp_arrow import read_table
from otlp_arrow.storage.reader import read_file
from tests.helpers import EOS, data_files, python

WRITER = """
import sys, time
from otlp_arrow import OtlpLibrary
from tests import sample
out, n = sys.argv[1], int(sys.argv[2])
lib = OtlpLibrary(output_dir=out, write_interval="10ms", rotate_bytes="{rotate}", seal="off")
for i in range(n):
    lib.export_traces(sample.traces(50, start_ns=1_764_000_000 * 10**9, seed=i))
    lib.flush()
    print(i + 1, flush=True)
{tail}
"""


def test_file_cut_in_the_middle_of_a_batch_yields_the_complete_ones(tmp_path: Path) -> None:
    python(WRITER.format(rotate="1GiB", tail="lib.shutdown()"), str(tmp_path), "10")
    (path,) = data_files(tmp_path, "traces")
    data = path.read_bytes()
    sizes = []
    for cut in (len(data) - len(EOS), len(data) - len(EOS) - 1, len(data) // 2, 100, 0):
        path.write_bytes(data[:cut])
        sizes.append(sum(batch.num_rows for batch in read_file(path)))
    assert sizes[0] == 500  # only the end-of-stream marker is gone
    assert sizes[1] == 450  # one byte of the last batch is missing
    assert 0 < sizes[2] < 500 and sizes[2] % 50 == 0
    assert sizes[3:] == [0, 0]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_writer_killed_mid_write_loses_nothing_it_flushed(tmp_path: Path) -> None:
    code = WRITER.format(rotate="200KiB", tail="time.sleep(60)")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path), "100000"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    flushed = 0
    deadline = time.monotonic() + 60
    while flushed < 40 and time.monotonic() < deadline:
        flushed = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)  # somewhere in the middle of exporting / writing
    proc.wait(10)
    proc.stdout.close()
    assert flushed >= 40
    table = read_table(tmp_path, "traces")
    assert table.num_rows >= flushed * 50  # every flushed export survived the kill
    assert table.num_rows % 50 == 0
    assert len(data_files(tmp_path, "traces")) > 1  # rotation happened on the way


def test_two_processes_share_a_directory_without_collisions(tmp_path: Path) -> None:
    code = WRITER.format(rotate="64KiB", tail="lib.shutdown()")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path), "30"], stdout=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    assert [p.wait(120) for p in procs] == [0, 0]
    python(code, str(tmp_path), "5")  # and a restart in the same second
    files = data_files(tmp_path, "traces")
    assert len({f.name for f in files}) == len(files) > 3
    assert read_table(tmp_path, "traces").num_rows == (30 + 30 + 5) * 50

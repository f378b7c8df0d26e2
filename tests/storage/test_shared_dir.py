"""Two writers sharing one directory with a small retention limit never hurt each other:
every row either of them acknowledged is stored, or in a file retention deleted after it was
closed (counted) — never written into a file the other one deleted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from otlp_arrow import read_table

WRITER = """
import json, sys
from otlp_arrow import OtlpLibrary
from tests.helpers import span_batch
lib = OtlpLibrary(
    output_dir=sys.argv[1], durability="written", write_interval="10ms", rotate_bytes="512KiB",
    retention_bytes="256KiB", retention_interval="1s",
)
acked = 0
for seed in range(int(sys.argv[2]), int(sys.argv[2]) + 600):
    lib.export_traces(span_batch(40, seed))  # returns once the rows are in the file
    acked += 40
lib.shutdown()
print(json.dumps({"acked": acked, "deleted": lib.stats()["rows_deleted"].get("traces", 0)}))
"""


def test_two_writers_with_retention_by_size_lose_nothing_they_acknowledged(
    tmp_path: Path,
) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (0, 10**6)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    ids = read_table(tmp_path, "traces").column("span_id").to_pylist()
    assert len(ids) == len(set(ids))
    deleted = sum(r["deleted"] for r in results)
    assert deleted > 0  # retention did delete: the limit is far below what was written
    assert len(ids) + deleted == sum(r["acked"] for r in results) == 2 * 600 * 40

"""Small shared helpers for the tests (real files, real subprocesses)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from otlp_arrow import _sample, otlp_to_arrow

T0 = 1_764_000_000 * 10**9  # 2025-11-24, a fixed start time for sample data
EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"  # Arrow IPC end-of-stream marker


def span_batch(n: int, seed: int = 1) -> pa.RecordBatch:
    return otlp_to_arrow(_sample.traces(n, start_ns=T0, seed=seed)).to_batches()[0]


def python(
    code: str, *args: str, timeout: float = 60, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (the installed package), checking it succeeds."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return done


def data_files(root: Path, signal: str) -> list[Path]:
    return sorted((root / signal).rglob("*.arrows"))

"""Small shared helpers for the tests (real files, real subprocesses)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from otlp_arrow import otlp_to_arrow
from tests import sample

T0 = 1_764_000_000 * 10**9  # 2025-11-24, a fixed start time for sample data
EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"  # Arrow IPC end-of-stream marker


def span_batch(n: int, seed: int = 1) -> pa.RecordBatch:
    return otlp_to_arrow(sample.traces(n, start_ns=T0, seed=seed)).to_batches()[0]


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


def data_files(root: Path, signal: str, suffix: str = ".arrows") -> list[Path]:
    """The signal's files ending in ``suffix`` (``.arrows``: live streams, ``.parquet``:
    sealed), sorted by name (oldest first)."""
    return sorted((root / signal).rglob(f"*{suffix}"), key=lambda p: p.name)


def temporaries(directory: Path) -> list[Path]:
    """The hidden temporary files below ``directory`` a clean-up should have deleted: all but
    the empty staging files of a process killed between creating one and renaming it (kept
    for ``locks.STAGING_GRACE_S``, as a live process's could be unlocked yet)."""
    from otlp_arrow.storage.locks import STAGING_SUFFIX

    hidden = [p for p in directory.rglob(".*") if p.is_file()]
    return [p for p in hidden if not p.name.endswith(STAGING_SUFFIX) or p.stat().st_size]


def all_sealed(root: Path, signal: str) -> bool:
    """True if the signal has files and every one is a complete Parquet file (no stream file
    left): what a clean shutdown with the default ``seal: parquet`` leaves."""
    sealed = data_files(root, signal, ".parquet")
    return (
        bool(sealed)
        and not data_files(root, signal)
        and all(f.read_bytes().endswith(b"PAR1") for f in sealed)
    )


def start_serve(
    out: Path, *args: str, env: dict[str, str] | None = None, max_files: int | None = None
) -> tuple[subprocess.Popen[str], dict[str, int]]:
    """Start ``otlp-arrow serve --output-dir out *args`` (with ``env`` added to the
    environment; with ``max_files``, soft and hard RLIMIT_NOFILE set to it: POSIX only);
    return the process and its ports ({"gRPC": port, "HTTP": port, "viewer": port} for the
    listeners that are on)."""
    exe = shutil.which("otlp-arrow", path=sysconfig.get_path("scripts"))
    assert exe is not None, "the otlp-arrow console script is not installed"

    def limit_files() -> None:
        import resource

        assert max_files is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files))

    proc = subprocess.Popen(
        [exe, "serve", "--output-dir", str(out), *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=None if max_files is None else limit_files,
    )
    assert proc.stderr is not None
    ports: dict[str, int] = {}
    lines = []
    while True:
        line = proc.stderr.readline()
        lines.append(line)
        assert line, f"otlp-arrow serve did not start:\n{''.join(lines)}"
        match = re.search(r"OTLP/(gRPC|HTTP) listening on \S+:(\d+)", line)
        if match:
            ports[match.group(1)] = int(match.group(2))
        match = re.search(r"web viewer on http://\S+:(\d+)/", line)
        if match:
            ports["viewer"] = int(match.group(1))
        if "writing to" in line:  # logged once every listener is up
            return proc, ports


def stop_serve(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, wait for a clean exit (code 0), return what the server wrote after (its
    log on stderr, then anything on stdout)."""
    proc.send_signal(signal.SIGTERM)
    rest, errors = proc.communicate(timeout=60)
    assert proc.returncode == 0, errors
    return errors + rest


def wait_for(
    condition: Callable[[], Any],
    what: str,
    timeout: float = 15.0,
    ignoring: tuple[type[BaseException], ...] = (),
) -> Any:
    """Poll ``condition`` until it is truthy and return its value; AssertionError naming
    ``what`` after ``timeout`` seconds. Exceptions of the ``ignoring`` types count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except ignoring:
            result = None
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")

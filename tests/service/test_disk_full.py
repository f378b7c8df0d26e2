"""A real small tmpfs filling up under load from ``otlp-arrow serve``'s clients: refusals
(503 / UNAVAILABLE, readiness false) instead of acknowledgements into memory, memory bounded,
progress as soon as a little space is freed, and nothing acknowledged lost after SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import start_serve, wait_for
from tests.service.test_crash import SPANS, Client, _stored


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "small"
    path.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5):
            return True
    except urllib.error.HTTPError:
        return False


def _fill(disk: Path, leave: int) -> Path:
    """Take the free space of ``disk`` but ``leave`` bytes."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with filler.open("ab") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_a_full_disk_costs_time_not_memory_or_data(small_disk: Path) -> None:
    out = small_disk / "data"
    env = {"OTLP_ARROW_ROTATE_BYTES": "256KiB", "OTLP_ARROW_SEAL": "off"}
    proc, ports = start_serve(out, "--grpc-port", "0", "--http-port", "0", env=env)
    acked: list[tuple[float, int]] = []
    try:
        wait_for(lambda: _ready(ports["HTTP"]), "ready")
        rss_before = _rss_mib(proc.pid)
        filler = _fill(small_disk, leave=0)  # the disk is full
        stop = threading.Event()
        clients = [Client("grpc", ports["gRPC"], n * 10**9 + 1) for n in range(2)]

        def keep_sending(client: Client) -> None:
            while not stop.is_set():  # refused requests end a run: start another
                client.run(stop)
                time.sleep(0.01)

        threads = [threading.Thread(target=keep_sending, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        wait_for(lambda: not _ready(ports["HTTP"]), "readiness to say the disk fails")
        peak = rss_before
        for _ in range(30):  # three seconds of load against a full disk
            peak = max(peak, _rss_mib(proc.pid))
            time.sleep(0.1)
        full = sum(len(c.acked) for c in clients)
        filler.unlink()
        _fill(small_disk, leave=600 * 1024)  # a little space again: progress at once
        wait_for(lambda: sum(len(c.acked) for c in clients) > full + 5, "progress", 20)
        stop.set()
        for thread in threads:
            thread.join(10)
        acked = [a for c in clients for a in c.acked]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert full <= 2  # at most a request or two in flight when the disk filled up
    assert peak - rss_before < 64, f"RSS grew {peak - rss_before:.0f} MiB on a full disk"
    stored = set(_stored(out))
    missing = [first for _, first in acked if first not in stored]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged requests lost"
    assert len(acked) * SPANS <= len(stored)

"""A real PostgreSQL server for the catalog tests: Debian's initdb and postgres (installed by
scripts/setup.sh), a fresh cluster in a temporary directory on a loopback port, trust
authentication for one user, stopped and deleted afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER = "otel"


def server_binaries() -> Path | None:
    """The directory of ``initdb`` and ``postgres`` (Debian keeps them off PATH)."""
    for directory in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (directory / "initdb").exists() and (directory / "postgres").exists():
            return directory
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def postgres(binaries: Path) -> Iterator[str]:
    """A running server; yields the catalog URI of its database ``otel``."""
    root = Path(tempfile.mkdtemp(prefix="otlp-arrow-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root: as Debian's "postgres"
        shutil.chown(root, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port, log = root / "data", _free_port(), root / "server.log"
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=trust"]
    initdb += ["-E", "UTF8", "--no-sync"]
    subprocess.run([*as_owner, *initdb], check=True, capture_output=True, timeout=120)
    command = [str(binaries / "postgres"), "-D", str(data), "-p", str(port)]
    command += ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}"]
    command += ["-c", "fsync=off"]
    with log.open("wb") as output:
        server = subprocess.Popen([*as_owner, *command], stdout=output, stderr=output)
    try:
        _wait_ready(binaries, port, server, log)
        createdb = [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port)]
        subprocess.run([*createdb, "-U", USER, USER], check=True, capture_output=True, timeout=60)
        yield f"postgresql://{USER}@127.0.0.1:{port}/{USER}"
    finally:
        server.terminate()  # "smart" shutdown: waits for clients, then stops
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(binaries: Path, port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"postgres exited {server.returncode}: {log.read_text()}")
        ready = [str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", USER]
        if subprocess.run(ready, capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"postgres did not accept connections within 60 s: {log.read_text()}")

"""A real Iceberg REST catalog server for the catalog tests: Apache Iceberg's REST catalog test
server (``RESTCatalogServer`` of ``org.apache.iceberg:iceberg-open-api``'s test fixtures, the
server of the ``apache/iceberg-rest-fixture`` image) with its dependencies, which
scripts/fetch-jars.sh has Maven copy into ``jars/rest-catalog/``. ``LoopbackRestCatalog.java``
beside this file starts it on 127.0.0.1 on a port the system picks; its own catalog is an
Iceberg ``JdbcCatalog`` on a SQLite file and ``HadoopFileIO`` on the local warehouse."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from otlp_arrow.lake import spark as lake_spark

JARS = lake_spark.JARS_DIR / "rest-catalog"
LAUNCHER = Path(__file__).with_name("LoopbackRestCatalog.java")
#: a jar of each part the server needs (the rest come with them from Maven)
NEEDED = ("iceberg-open-api", "iceberg-core", "jetty-ee10-servlet", "hadoop-client-api")


def missing() -> str | None:
    """Why the server cannot run here, or None."""
    if shutil.which("java") is None:
        return "Java is not installed (the REST catalog server needs it)"
    names = " ".join(j.name for j in JARS.glob("*.jar"))
    absent = [n for n in NEEDED if n not in names]
    if absent:
        return f"{absent} not in {JARS} (run scripts/fetch-jars.sh)"
    return None


def require() -> None:
    """Skip the test where the server cannot run; on CI, fail it."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def rest_catalog(warehouse: Path) -> Iterator[str]:
    """A running server whose tables live under ``warehouse`` (a local directory); yields its
    URL, ``http://127.0.0.1:<port>``. Stopped and its catalog database deleted afterwards.
    Its log goes to this process's stderr, which pytest shows with a failing test."""
    root = Path(tempfile.mkdtemp(prefix="otlp-arrow-rest-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    env |= {
        "CATALOG_URI": f"jdbc:sqlite:{root / 'catalog.db'}",
        "CATALOG_WAREHOUSE": str(warehouse),
        "CATALOG_IO__IMPL": lake_spark.HADOOP_FILE_IO,
    }
    command = ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Xshare:auto"]
    command += ["-cp", f"{JARS}/*", str(LAUNCHER)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, cwd=root)
    try:
        url = f"http://127.0.0.1:{_port(server)}"
        _wait_ready(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()
        shutil.rmtree(root, ignore_errors=True)


def _port(server: subprocess.Popen[bytes]) -> int:
    """The port the launcher prints once it listens (its one line: ``port N``)."""
    assert server.stdout is not None
    deadline = time.monotonic() + 120  # javac compiles the launcher first: seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([server.stdout], [], [], 0.1)
        if ready:
            line = server.stdout.readline().decode()
            if line.startswith("port "):
                return int(line.split()[1])
            break
        if server.poll() is not None:
            break
    raise RuntimeError(
        f"the REST catalog server did not start (exit code {server.poll()}; its log is "
        "in the captured stderr)"
    )


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    """Until ``GET /v1/config`` answers 200."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the REST catalog server exited {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/v1/config", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the REST catalog server did not answer {url}/v1/config within 60 s")

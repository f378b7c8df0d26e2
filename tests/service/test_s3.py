"""``serve --output-dir s3://…`` against a real S3 API (moto in server mode): what it
acknowledges ends up in the bucket once; a writer killed mid-upload leaves no partial object
and the next start uploads everything; a missing bucket or refused credentials stop it at
start naming which; a full spool answers 429."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from otlp_arrow import OtlpLibrary, connect
from tests import sample
from tests.conftest import S3
from tests.helpers import T0, start_serve, stop_serve, wait_for
from tests.s3_server import Proxy, moto

REPO = Path(__file__).parents[2]


def _post(port: int, body: bytes) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/traces",
        data=body,
        headers={"Content-Type": "application/x-protobuf"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _spans(n: int, seed: int) -> bytes:
    return bytes(sample.traces(n, start_ns=T0, seed=seed).SerializeToString())


def test_serve_writes_to_the_bucket_and_query_reads_it(s3: S3, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    proc, ports = start_serve(
        s3.uri, "--grpc-port", "off", "--http-port", "0", env={"OTLP_ARROW_SPOOL_DIR": str(spool)}
    )
    try:
        for seed in range(3):
            assert _post(ports["HTTP"], _spans(40, seed)) == 200
        assert connect(s3.uri, spool_dir=spool).traces().num_rows == 120  # in the spool now
    finally:
        log = stop_serve(proc)
    assert f"everything received is in {s3.uri} (spool {spool})" in log
    assert s3.keys("otel/traces/") and not list(spool.rglob("*.parquet"))
    done = subprocess.run(
        [sys.executable, "-m", "otlp_arrow.cli", "query", "--output-dir", s3.uri,
         "SELECT count(DISTINCT span_id) AS n FROM traces"],
        capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "OTLP_ARROW_SPOOL_DIR": str(spool)},
    )  # fmt: skip
    assert done.stdout.split() == ['"n"', "120"]  # CSV


@pytest.mark.parametrize("what", ["missing bucket", "refused credentials"])
def test_serve_stops_at_start_naming_what_is_wrong(s3: S3, tmp_path: Path, what: str) -> None:
    env = {**os.environ, "OTLP_ARROW_SPOOL_DIR": str(tmp_path / "spool")}
    uri = "s3://no-such-bucket/otel" if what == "missing bucket" else s3.uri
    with moto(authenticate=True) as strict:
        if what == "refused credentials":
            env["AWS_ENDPOINT_URL"] = strict.url
        done = subprocess.run(
            [sys.executable, "-m", "otlp_arrow.cli", "serve", "--output-dir", uri],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
    assert done.returncode == 1
    expected = "bucket 'no-such-bucket'" if what == "missing bucket" else "credentials were refused"
    assert expected in done.stderr
    assert "testing-secret-key" not in done.stderr + done.stdout


def test_a_full_spool_answers_429(s3: S3, tmp_path: Path) -> None:
    proxy = Proxy(s3.server.port)
    env = {
        "AWS_ENDPOINT_URL": proxy.url,
        "OTLP_ARROW_SPOOL_DIR": str(tmp_path / "spool"),
        "OTLP_ARROW_SPOOL_MAX_BYTES": "16KiB",
        "OTLP_ARROW_ROTATE_BYTES": "4KiB",
        "OTLP_ARROW_UPLOAD_RETRY_MAX": "100ms",
    }
    proc, ports = start_serve(s3.uri, "--grpc-port", "off", "--http-port", "0", env=env)
    acknowledged = 0
    try:
        proxy.down()
        seeds = iter(range(1000))

        def send() -> int:
            nonlocal acknowledged
            status = _post(ports["HTTP"], _spans(50, next(seeds)))
            acknowledged += 50 if status == 200 else 0
            return status

        wait_for(lambda: send() == 429, "429 from a full spool", 90)
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['HTTP']}/metrics") as response:
            metrics = response.read().decode()
        assert "otlp_arrow_spool_full 1" in metrics and "otlp_arrow_upload_errors_total" in metrics
        proxy.up()
        wait_for(lambda: send() == 200, "the service to accept again", 90)
    finally:
        stop_serve(proc)
        proxy.close()
    table = connect(s3.uri, spool_dir=tmp_path / "spool").traces()
    assert table.num_rows == acknowledged == len(set(table.column("span_id").to_pylist()))


def test_kill_minus_9_mid_upload_leaves_no_partial_object(s3: S3, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    proxy = Proxy(s3.server.port)
    code = (
        "import sys\n"
        "from otlp_arrow import OtlpLibrary\n"
        "from tests.helpers import span_batch\n"
        f"lib = OtlpLibrary(output_dir={s3.uri!r}, spool_dir={str(spool)!r},"
        " durability='written', compression='none')\n"
        "for seed in range(8):\n"
        "    lib.export_traces(span_batch(2500, seed=seed))\n"
        "print('acknowledged', 8 * 2500, flush=True)\n"
        "sys.stdin.readline()\n"
        "lib.shutdown()  # seals, then uploads: the proxy stalls it; we are killed there\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "AWS_ENDPOINT_URL": proxy.url},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with writer, contextlib.closing(proxy):
        assert writer.stdout is not None and writer.stdin is not None
        line = writer.stdout.readline()
        assert line.split() == ["acknowledged", "20000"], line
        proxy.stall_after(proxy.forwarded + 256 * 1024)  # a quarter MiB into the upload
        writer.stdin.write("\n")
        writer.stdin.flush()
        assert proxy.stalled.wait(60), "the upload never started"
        [sealed] = spool.rglob("*.parquet")
        assert sealed.stat().st_size > 1024 * 1024  # the upload is cut well before its end
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
    assert s3.keys("otel/traces/") == []  # nothing partial is visible
    assert connect(s3.uri, spool_dir=spool).traces().num_rows == 20000  # still in the spool
    with OtlpLibrary(output_dir=s3.uri, spool_dir=spool):  # the restart uploads it
        pass
    assert len(s3.keys("otel/traces/")) == 1 and not list(spool.rglob("*.parquet"))
    table = connect(s3.uri, spool_dir=spool).traces()
    assert table.num_rows == 20000 == len(set(table.column("span_id").to_pylist()))

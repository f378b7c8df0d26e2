"""s3:// output end to end in-process: the spool, sealing and upload, readers over spool and
bucket (each row once), the final-location hook, restarts, an endpoint that goes away and
comes back (backpressure, nothing lost) — against a real S3 API (moto in server mode)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest

from otlp_arrow import OtlpLibrary, connect, read_table
from otlp_arrow.errors import BufferFullError, StorageError
from tests.conftest import S3
from tests.helpers import data_files, span_batch, wait_for
from tests.s3_server import Proxy

REPO = Path(__file__).parents[2]


def _spool_files(spool: Path) -> list[Path]:
    return [p for p in spool.rglob("*") if p.suffix in (".arrows", ".parquet")]


def _unique_span_ids(table: object) -> int:
    return len(set(table.column("span_id").to_pylist()))  # type: ignore[attr-defined]


def test_library_writes_to_the_bucket_and_readers_see_spool_and_bucket(s3: S3) -> None:
    lib = OtlpLibrary(output_dir=s3.uri, write_interval="20ms")
    spool = lib.config.local_dir
    lib.export_traces(span_batch(100, seed=1))
    assert lib.flush()
    assert data_files(spool, "traces")  # the hot stream is in the spool
    assert connect(s3.uri).traces().num_rows == 100  # readers see it there
    lib.shutdown()  # closes, seals, uploads
    [key] = s3.keys("otel/traces/")
    assert key.endswith(".parquet") and "/date=" in key and "/hour=" in key
    assert _spool_files(spool) == []  # deleted once the upload was confirmed
    store = connect(s3.uri)
    assert store.traces().num_rows == 100
    assert read_table(s3.uri, "traces").num_rows == 100
    assert store.sql("SELECT count(*) AS n FROM traces").column("n").to_pylist() == [100]
    assert [s.files for s in store.summary() if s.signal == "traces"] == [1]
    upload = lib.counters().upload
    assert upload is not None and upload.files_uploaded == 1 and upload.spool_bytes == 0


def test_a_file_in_the_spool_and_the_bucket_is_read_once_and_uploaded_again(
    s3: S3, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    with OtlpLibrary(output_dir=s3.uri, spool_dir=spool) as lib:
        lib.export_traces(span_batch(50, seed=2))
    [key] = s3.keys("otel/traces/")
    # a crash after the upload, before the spool copy was deleted: both copies exist
    local = spool / key.removeprefix("otel/")
    local.parent.mkdir(parents=True)
    s3.client.download_file(s3.bucket, key, str(local))
    shutil.copy(local, local.with_suffix(".arrows"))  # and a stream copy next to it
    store = connect(s3.uri, spool_dir=spool)
    assert store.traces().num_rows == 50
    assert store.sql("SELECT count(*) AS n FROM traces").column("n").to_pylist() == [50]
    assert read_table(s3.uri, "traces").num_rows == 50  # the bucket (another, empty spool)
    calls: list[tuple[str, str, bool]] = []
    with OtlpLibrary(
        output_dir=s3.uri,
        spool_dir=spool,
        on_file_final=lambda signal, uri, path: calls.append((signal, uri, path.exists())),
    ):
        pass  # a restart: uploads what the spool holds (the same key again)
    assert calls == [("traces", f"{s3.uri}/{key.removeprefix('otel/')}", True)]
    assert s3.keys("otel/traces/") == [key]
    assert connect(s3.uri, spool_dir=spool).traces().num_rows == 50
    assert not local.exists()


def test_a_restart_uploads_what_a_killed_writer_left(s3: S3, tmp_path: Path) -> None:
    base = tmp_path / "spool"
    spool = base / "worker-1"  # as `serve --workers N` gives each worker its own
    code = (
        "import os, sys\n"
        "from otlp_arrow import OtlpLibrary\n"
        "from tests.helpers import span_batch\n"
        f"lib = OtlpLibrary(output_dir={s3.uri!r}, spool_dir={str(spool)!r},"
        " durability='written')\n"
        "lib.export_traces(span_batch(30, seed=3))\n"
        "os._exit(0)  # no shutdown: the stream stays open, unsealed, unlocked\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)
    [stream] = data_files(spool, "traces")
    assert s3.keys("otel/traces/") == []
    assert connect(s3.uri, spool_dir=base).traces().num_rows == 30  # readable meanwhile
    with OtlpLibrary(output_dir=s3.uri, spool_dir=spool) as lib:
        lib.export_traces(span_batch(20, seed=4))
    assert len(s3.keys("otel/traces/")) == 2 and not stream.exists()
    table = connect(s3.uri, spool_dir=base).traces()
    assert table.num_rows == 50 == _unique_span_ids(table)


def test_a_failing_hook_keeps_the_file_until_it_succeeds(s3: S3, tmp_path: Path) -> None:
    calls: list[str] = []

    def hook(signal: str, uri: str, local: Path) -> None:
        calls.append(uri)
        if len(calls) == 1:
            raise RuntimeError("catalog unavailable")

    with OtlpLibrary(output_dir=s3.uri, spool_dir=tmp_path / "spool", on_file_final=hook) as lib:
        lib.export_logs([])  # nothing: no file
        lib.export_traces(span_batch(10, seed=5))
    assert len(calls) == 2 and calls[0] == calls[1]
    assert lib.counters().upload.upload_errors == 1
    assert connect(s3.uri, spool_dir=tmp_path / "spool").traces().num_rows == 10


def test_the_hook_of_a_local_output_gets_the_sealed_path(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    with OtlpLibrary(
        output_dir=tmp_path / "out", on_file_final=lambda s, uri, p: seen.append((s, uri))
    ) as lib:
        lib.export_traces(span_batch(5, seed=6))
    [sealed] = data_files(tmp_path / "out", "traces", ".parquet")
    assert seen == [("traces", str(sealed.resolve()))]


def test_object_storage_needs_sealing_and_no_forwarding(s3: S3) -> None:
    with pytest.raises(ValueError, match="needs seal=parquet"):
        OtlpLibrary(output_dir=s3.uri, seal="off")
    with pytest.raises(ValueError, match="forwarding reads a local output_dir"):
        OtlpLibrary(output_dir=s3.uri, forward_endpoint="http://127.0.0.1:9")


def test_a_missing_bucket_stops_the_library_at_start(s3: S3) -> None:
    with pytest.raises(StorageError, match="the bucket 'missing-bucket'"):
        OtlpLibrary(output_dir="s3://missing-bucket/otel")


def test_endpoint_down_then_back_loses_nothing_and_full_spool_refuses(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Proxy(s3.server.port)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    lib = OtlpLibrary(
        output_dir=s3.uri,
        spool_dir=tmp_path / "spool",
        write_interval="10ms",
        rotate_bytes="4KiB",
        spool_max_bytes="48KiB",
        upload_retry_max="100ms",
    )
    seeds = itertools.count(10)
    accepted = 0

    def export() -> bool:
        nonlocal accepted
        try:
            lib.export_traces(span_batch(50, seed=next(seeds)))
        except BufferFullError as exc:
            assert "spool full" in str(exc) and "uploads fail" in str(exc)
            return False
        accepted += 50
        lib.flush()
        return True

    try:
        proxy.down()
        wait_for(lambda: not export(), "the spool to fill while the endpoint is down", 90)
        counters = lib.counters()
        assert counters.upload is not None and counters.upload.spool_full
        assert counters.upload.upload_errors > 0 and counters.rows_refused["traces"] >= 50
        assert s3.keys("otel/traces/") == []
        proxy.up()
        wait_for(export, "exports to be accepted again once uploads catch up", 90)
    finally:
        lib.shutdown()
        proxy.close()
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.server.url)  # read without the proxy
    table = connect(s3.uri, spool_dir=tmp_path / "spool").traces()
    assert table.num_rows == accepted == _unique_span_ids(table)
    assert _spool_files(tmp_path / "spool") == []
    assert pc.min(table.column("start_time")).is_valid


def test_tail_follows_the_spool_of_an_object_store_output(s3: S3, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with OtlpLibrary(output_dir=s3.uri, spool_dir=spool) as lib:
        following = connect(s3.uri, spool_dir=spool).follow(("traces",), poll_s=0.02)
        lib.export_traces(span_batch(7, seed=7))
        lib.flush()
        signal, batch = next(following)
    assert signal == "traces" and batch.num_rows == 7


def test_retention_deletes_old_objects_in_the_bucket(s3: S3, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with OtlpLibrary(output_dir=s3.uri, spool_dir=spool) as lib:
        lib.export_traces(span_batch(5, seed=8))
    assert s3.keys("otel/traces/")
    with OtlpLibrary(
        output_dir=s3.uri, spool_dir=spool, retention_age="1s", retention_interval="1s"
    ) as lib:
        wait_for(lambda: not s3.keys("otel/traces/"), "retention to delete the object", 30)
        upload = lib.counters().upload
        assert upload is not None
        wait_for(lambda: lib.counters().upload.rows_deleted.get("traces") == 5, "the count")
        assert lib.counters().upload.files_deleted == 1


def test_shutdown_with_the_endpoint_down_leaves_files_for_the_next_start(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    proxy = Proxy(s3.server.port)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    lib = OtlpLibrary(output_dir=s3.uri, spool_dir=spool)
    lib.export_traces(span_batch(9, seed=9))
    proxy.down()
    lib.shutdown(timeout_millis=1000)  # uploads fail until the deadline: the file stays
    proxy.close()
    assert s3.keys("otel/traces/") == [] and data_files(spool, "traces", ".parquet")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.server.url)
    with OtlpLibrary(output_dir=s3.uri, spool_dir=spool):
        pass
    assert connect(s3.uri, spool_dir=spool).traces().num_rows == 9
    assert _spool_files(spool) == []


def test_a_bad_uri_given_to_connect_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="names no bucket"):
        connect("s3:///nothing")


def test_the_viewer_reads_bucket_and_spool(s3: S3, tmp_path: Path) -> None:
    import json
    import urllib.request

    from otlp_arrow.viewer import Viewer

    spool = tmp_path / "spool"
    with OtlpLibrary(output_dir=s3.uri, spool_dir=spool) as lib:
        lib.export_traces(span_batch(40, seed=11))
    lib = OtlpLibrary(output_dir=s3.uri, spool_dir=spool)  # this one's rows stay in the spool
    lib.export_traces(span_batch(40, seed=12))
    lib.flush()
    viewer = Viewer(s3.uri, port=0, spool_dir=spool)
    viewer.start()
    try:
        with urllib.request.urlopen(viewer.url + "api/traces?limit=500", timeout=30) as response:
            page = json.loads(response.read())
    finally:
        viewer.stop()
        lib.shutdown()
    truth = connect(s3.uri, spool_dir=spool).sql("SELECT count(DISTINCT trace_id) AS n FROM traces")
    assert page["total"] == truth.column("n")[0].as_py() > 0
    assert sum(t["spans"] for t in page["traces"]) == 80

"""An S3 warehouse: a real S3 API (moto in server mode on a loopback port), a SQLite catalog.
The objects are put there as the uploader does (whole files); the committer adds their
``s3://`` URIs, pyiceberg reads them back through its pyarrow FileIO, retention deletes them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from otlp_arrow.lake import retention
from otlp_arrow.lake.catalog import filesystem
from otlp_arrow.lake.iceberg import Committer
from otlp_arrow.storage.retention import RetentionPolicy
from tests.helpers import T0
from tests.lake.conftest import parquet_files, write_sealed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    admin = pafs.S3FileSystem(
        endpoint_override=f"http://{host}:{port}", region="us-east-1", allow_bucket_creation=True
    )
    admin.create_dir("telemetry")  # the bucket
    try:
        yield "s3://telemetry/otel"
    finally:
        server.stop()


def _upload(local: Path, bucket_prefix: str, signal: str) -> list[str]:
    """Put the sealed files of ``local`` under ``bucket_prefix`` as the uploader would."""
    fs, root = filesystem(bucket_prefix)
    uris = []
    for path in parquet_files(local, signal):
        key = f"{root}/{Path(path).relative_to(local).as_posix()}"
        pafs.copy_files(
            path, key, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs
        )
        uris.append(f"s3://{key}")
    return uris


def test_an_s3_warehouse(tmp_path: Path, s3: str) -> None:
    local = tmp_path / "spool"
    write_sealed(local, seed=1)
    committer = Committer(f"sqlite:///{tmp_path / 'catalog.db'}", s3)
    uris = _upload(local, s3, "traces")
    assert all(u.startswith("s3://telemetry/otel/traces/") for u in uris)
    assert committer.commit("traces", uris) == 1
    table = committer.table("traces")
    assert table.location() == "s3://telemetry/otel/traces"
    assert table.scan().to_arrow().num_rows == 40
    # uploaded, not committed (a crash): repair finds the object in the bucket
    write_sealed(local / "later", seed=2)
    _upload(local / "later", s3, "traces")
    assert committer.repair()["traces"] == 1
    assert committer.repair()["traces"] == 0
    assert table.refresh().scan().to_arrow().num_rows == 80
    # retention removes both from the table, then deletes the objects
    policy = RetentionPolicy(max_age_s=86400, max_bytes=0)
    assert retention.apply(committer, "traces", T0 / 1e9 + 3 * 86400, policy) == 80
    assert committer.data_files("traces") == []

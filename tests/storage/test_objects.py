"""Object storage as the output, at the storage layer: URIs, the AWS settings, the start-up
check, uploads and listing — against a real S3 API (moto in server mode)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otlp_arrow.config import Config
from otlp_arrow.errors import ConfigError, StorageError
from otlp_arrow.storage import spool
from otlp_arrow.storage.objects import display, is_uri, open_bucket, parse_output
from otlp_arrow.storage.retention import RetentionPolicy, apply_remote
from tests.conftest import S3
from tests.s3_server import Proxy, moto


def test_output_dir_is_a_path_or_a_uri() -> None:
    assert parse_output("data") == Path("data")
    assert parse_output("file:///tmp/x") == Path("/tmp/x")
    assert parse_output("s3://bucket/some/prefix/") == "s3://bucket/some/prefix"
    assert parse_output("s3://bucket?region=eu-west-1") == "s3://bucket?region=eu-west-1"
    assert not is_uri("C:/data") and not is_uri(Path("s3"))
    config = Config.load(env={}, output_dir="s3://bucket/p")
    assert config.remote == "s3://bucket/p"
    assert config.local_dir == config.spool == spool.default_dir("s3://bucket/p")
    assert Config.load(env={}, output_dir="s3://b/p", spool_dir="sp").local_dir == Path("sp")
    local = Config.load(env={}, output_dir="d")
    assert local.remote is None and local.local_dir == Path("d")
    assert display("s3://b/p") == "s3://b/p" and display(Path("d")) == str(Path("d").resolve())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("s3://AKIA:secret@bucket/p", "credentials in the URI are not allowed"),
        ("s3:///prefix", "names no bucket"),
        ("s3://bucket/p?access_key=x", "unknown query parameter(s) access_key"),
    ],
)
def test_bad_uris_are_refused_without_showing_secrets(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        Config.load(env={}, output_dir=value)
    assert "secret" not in str(err.value)


def test_default_spool_is_per_user_and_keyed_by_the_uri(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    one = spool.default_dir("s3://bucket/a", env)
    assert one.parent == tmp_path / "otlp-arrow" / "spool"
    assert one != spool.default_dir("s3://bucket/b", env)
    assert ":" not in one.name and one.name.startswith("bucket_a-")
    assert spool.worker_dir(one, 2) == one / "worker-2"
    (one / "worker-2").mkdir(parents=True)
    (one / "traces").mkdir()
    assert spool.roots(one) == [one, one / "worker-2"]
    assert spool.roots(tmp_path / "missing") == [tmp_path / "missing"]


def test_the_endpoint_and_credentials_come_from_the_aws_variables(s3: S3, tmp_path: Path) -> None:
    bucket = open_bucket(s3.uri)  # nothing but AWS_ENDPOINT_URL & co. says where moto is
    bucket.check()
    local = tmp_path / "x.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), local)
    bucket.upload(local, "traces/date=2026-12-01/hour=10/x.parquet")
    assert s3.keys() == ["otel/traces/date=2026-12-01/hour=10/x.parquet"]
    [info] = bucket.list_files("traces", ".parquet")
    assert info.path.as_posix() == "traces/date=2026-12-01/hour=10/x.parquet"
    assert info.size == local.stat().st_size and info.mtime > 0
    assert bucket.rows("traces/date=2026-12-01/hour=10/x.parquet") == 3
    assert bucket.url("traces/x") == f"{s3.uri}/traces/x"
    assert bucket.size("traces/nothing") is None
    assert bucket.delete("traces/date=2026-12-01/hour=10/x.parquet")
    assert bucket.rows("traces/date=2026-12-01/hour=10/x.parquet") == 0
    assert s3.keys() == []


def test_aws_endpoint_url_s3_wins_over_the_generic_one(s3: S3, tmp_path: Path) -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ENDPOINT_URL_S3": s3.server.url}
    open_bucket(s3.uri, env).check()  # port 9 (discard) would fail


def test_a_missing_bucket_is_named_at_start(s3: S3) -> None:
    with pytest.raises(StorageError, match="the bucket 'no-such-bucket' of s3://no-such-bucket/p"):
        open_bucket("s3://no-such-bucket/p").check()


def test_refused_credentials_are_named_at_start(
    s3: S3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with moto(authenticate=True) as strict:  # checks every request's credentials
        monkeypatch.setenv("AWS_ENDPOINT_URL", strict.url)
        with pytest.raises(StorageError, match="credentials were refused") as err:
            open_bucket("s3://bucket/p").check()
    assert "testing-secret-key" not in str(err.value)


def test_an_unreachable_endpoint_is_a_clear_error(s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(StorageError, match="cannot reach the bucket of s3://b/p"):
        open_bucket("s3://b/p").check()


def test_other_pyarrow_schemes_work_the_same(tmp_path: Path) -> None:
    bucket = open_bucket(f"file://{tmp_path}")
    assert bucket.root == str(tmp_path)
    with pytest.raises(ConfigError, match=r"cannot be opened by pyarrow\.fs"):
        open_bucket("nosuchscheme://x/y")


def test_retention_deletes_objects_by_age_and_counts_their_rows(s3: S3, tmp_path: Path) -> None:
    bucket = open_bucket(s3.uri)
    local = tmp_path / "x.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), local)
    bucket.upload(local, "traces/date=2026-12-01/hour=10/old.parquet")
    [info] = bucket.list_files("traces", ".parquet")
    assert apply_remote(bucket, "traces", info.mtime + 10, RetentionPolicy(3600, 0)) == []
    assert apply_remote(bucket, "traces", info.mtime + 10, RetentionPolicy(0, 0)) == []
    [gone] = apply_remote(bucket, "traces", info.mtime + 7200, RetentionPolicy(3600, 0))
    assert gone.rows == 2 and s3.keys() == []


def test_a_big_file_killed_mid_multipart_upload_is_not_visible(s3: S3, tmp_path: Path) -> None:
    big = tmp_path / "big.parquet"
    big.write_bytes(os.urandom(12 * 1024 * 1024))  # above pyarrow's multipart threshold
    proxy = Proxy(s3.server.port)
    proxy.stall_after(7 * 1024 * 1024)  # after the first part, during the second
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from otlp_arrow.storage.objects import open_bucket\n"
        "open_bucket(sys.argv[1]).upload(Path(sys.argv[2]), 'traces/big.parquet')\n"
    )
    env = {**os.environ, "AWS_ENDPOINT_URL": proxy.url}
    with (
        contextlib.closing(proxy),
        subprocess.Popen([sys.executable, "-c", code, s3.uri, str(big)], env=env) as uploader,
    ):
        assert proxy.stalled.wait(60), "the upload never got that far"
        uploader.send_signal(signal.SIGKILL)
    assert s3.keys() == []  # no partial object
    pending = s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", [])
    assert [u["Key"] for u in pending] == ["otel/traces/big.parquet"]  # it was multipart
    bucket = open_bucket(s3.uri)
    bucket.upload(big, "traces/big.parquet")  # the next attempt puts it whole
    assert bucket.size("traces/big.parquet") == big.stat().st_size

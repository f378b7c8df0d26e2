from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.s3_server import ACCESS_KEY, SECRET_KEY, MotoServer, keys, moto

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "many",
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never see the developer's OTLP_ARROW_* / OTEL_* settings."""
    for name in list(os.environ):
        if name.startswith(("OTLP_ARROW_", "OTEL_")):
            monkeypatch.delenv(name)
    yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Never let a run that collected no tests pass."""
    if session.testscollected == 0 and exitstatus == 0:
        session.exitstatus = 1


@dataclass
class S3:
    """A fresh bucket on the tests' moto server, with the AWS_* variables pointing at it."""

    server: MotoServer
    client: Any  # boto3's S3 client, straight to moto
    bucket: str
    uri: str  # s3://<bucket>/otel: the output_dir of the tests

    def keys(self, prefix: str = "") -> list[str]:
        return keys(self.client, self.bucket, prefix)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with moto() as server:
        yield server


@pytest.fixture
def s3(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the default spool's home
    bucket = f"test-{secrets.token_hex(4)}"
    client = moto_server.client()
    client.create_bucket(Bucket=bucket)
    return S3(moto_server, client, bucket, f"s3://{bucket}/otel")

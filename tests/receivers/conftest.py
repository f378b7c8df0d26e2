"""Shared fixtures of the receiver tests: one real service on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otlp_arrow.service import Service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """Both receivers on free ports, writing to ``tmp_path`` every 20 ms; requests up to
    64 KiB (so the size limit is reachable in a test)."""
    with Service(
        output_dir=tmp_path,
        grpc_port=0,
        http_port=0,
        write_interval="20ms",
        max_receive_bytes="64KiB",
    ) as running:
        yield running

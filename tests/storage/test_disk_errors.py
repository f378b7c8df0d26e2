"""Disk full and read-only file systems (real tmpfs mounts): StorageError with the path and
cause; accepted data stays buffered, is retried, and is reported if it cannot be written."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from otlp_arrow import OtlpLibrary, StorageError, read_table
from tests.helpers import span_batch


def _mount(path: Path, options: str) -> Iterator[Path]:
    path.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    yield from _mount(tmp_path / "small", "size=1200k")


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    yield from _mount(tmp_path / "ro", "ro,size=64k")


def test_disk_full_is_reported_then_retried_without_losing_rows(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # write_interval=1h: only flush() writes, so the 800 spans go out as one ~960 kB batch
    library = OtlpLibrary(output_dir=small_disk / "data", write_interval="1h", compression="none")
    filler = small_disk / "filler"
    try:
        library.export_traces(span_batch(10))
        assert library.flush()  # the open file now holds one complete batch
        # ~300 kB left; the next 800 spans need ~960 kB. A failed write must not leave its
        # partial bytes behind, or the space freed below would never be enough.
        filler.write_bytes(b"\0" * 880_000)
        for seed in range(4):
            library.export_traces(span_batch(200, seed))
        with pytest.raises(StorageError) as info:
            library.flush(timeout_millis=10_000)
        assert "No space left on device" in str(info.value)
        assert info.value.path is not None and small_disk in info.value.path.parents
        stats = library.stats()  # the round wrote request by request: 200 of them still fit
        assert stats["buffered_rows"] == 600 and stats["write_errors"] >= 1
        with pytest.raises(StorageError):
            library.flush(timeout_millis=10_000)  # still failing: reported, not logged again
        assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1
        filler.unlink()  # space again: the buffered rows are written on the next round
        assert library.flush(timeout_millis=10_000)
    finally:
        library.shutdown()
    assert read_table(small_disk / "data", "traces").num_rows == 810


def test_read_only_directory(read_only_disk: Path) -> None:
    library = OtlpLibrary(output_dir=read_only_disk / "data", write_interval="50ms")
    library.export_traces(span_batch(10))
    with pytest.raises(StorageError, match="Read-only file system") as info:
        library.flush(timeout_millis=10_000)
    assert info.value.path is not None and str(read_only_disk) in str(info.value.path)
    with pytest.raises(StorageError, match=r"10 buffered rows could not be written"):
        library.shutdown(timeout_millis=2_000)


def test_sdk_exporter_on_a_read_only_directory_fails_softly(
    read_only_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from opentelemetry.sdk.trace.export import SpanExportResult

    from tests import sdk_data

    spans = sdk_data.spans()
    library = OtlpLibrary(
        output_dir=read_only_disk / "data", write_interval="50ms", max_buffer_rows=12
    )
    exporter = library.span_exporter()
    with caplog.at_level(logging.WARNING, logger="otlp_arrow"):
        assert exporter.export(spans) is SpanExportResult.SUCCESS  # buffered, not lost
        assert exporter.force_flush(5_000) is False  # the disk refuses: reported
        assert exporter.export(spans) is SpanExportResult.SUCCESS  # 10 of 12 rows used
        results = [exporter.export(spans) for _ in range(3)]  # no room left
    assert results == [SpanExportResult.FAILURE] * 3
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "otlp_arrow.exporters"
    ]
    assert len(warnings) == 2  # one per kind of failure, not one per call
    assert "StorageError" in warnings[0] and "Read-only file system" in warnings[0]
    assert "BufferFullError" in warnings[1]
    with pytest.raises(StorageError, match="10 buffered rows could not be written"):
        library.shutdown(timeout_millis=2_000)

"""The writer on real files: rotation, end-of-stream markers, partitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from otlp_arrow.storage.layout import RotationPolicy
from otlp_arrow.storage.reader import read_file, read_table
from otlp_arrow.storage.writer import SignalWriter
from tests.helpers import EOS, data_files, span_batch


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 18, 50, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _writer(
    tmp_path: Path,
    clock: FakeClock,
    max_bytes: int = 10**9,
    max_age_s: float = 3600,
    compression: str | None = "zstd",
) -> SignalWriter:
    return SignalWriter(
        tmp_path, "traces", RotationPolicy(max_bytes, max_age_s), compression, clock
    )


def test_batches_are_appended_and_the_file_is_closed_with_eos(tmp_path: Path) -> None:
    writer = _writer(tmp_path, FakeClock())
    batch = span_batch(10)
    first = writer.write(batch)
    second = writer.write(batch)
    assert first == second
    assert not first.read_bytes().endswith(EOS)  # still open: no marker yet...
    assert sum(b.num_rows for b in read_file(first)) == 20  # ...but readable already
    writer.close()
    assert first.read_bytes().endswith(EOS)
    with pa.ipc.open_stream(first.read_bytes()) as reader:
        assert reader.read_all().num_rows == 20


def test_rotation_by_size_closes_each_file_properly(tmp_path: Path) -> None:
    writer = _writer(tmp_path, FakeClock(), max_bytes=20_000)
    for seed in range(6):
        writer.write(span_batch(100, seed))
    writer.close()
    files = data_files(tmp_path, "traces")
    assert len(files) == 6  # every 100-span batch is bigger than 20 kB
    assert all(f.read_bytes().endswith(EOS) for f in files)
    assert read_table(tmp_path, "traces").num_rows == 600


def test_rotation_by_age_and_at_the_hour(tmp_path: Path) -> None:
    clock = FakeClock()
    writer = _writer(tmp_path, clock, max_age_s=120)
    writer.write(span_batch(5))
    clock.now += timedelta(seconds=60)
    writer.tick()
    assert writer.open_path is not None  # not due yet
    clock.now += timedelta(seconds=60)
    writer.tick()  # 120 s old: closed without a write
    assert writer.open_path is None
    writer.write(span_batch(5))  # 18:52
    clock.now = datetime(2026, 11, 25, 19, 0, 1, tzinfo=UTC)
    writer.write(span_batch(5))  # a new hour: a new file in a new partition
    writer.close()
    files = data_files(tmp_path, "traces")
    assert [f.parent.name for f in files] == ["hour=18", "hour=18", "hour=19"]
    assert all(f.read_bytes().endswith(EOS) for f in files)


@pytest.mark.parametrize("compression", [None, "lz4", "zstd"])
def test_compression_settings_give_readable_files(tmp_path: Path, compression: str | None) -> None:
    writer = _writer(tmp_path, FakeClock(), compression=compression)
    writer.write(span_batch(50))
    writer.close()
    assert read_table(tmp_path, "traces").equals(pa.Table.from_batches([span_batch(50)]))


def test_the_sequence_number_in_names_is_per_process(tmp_path: Path) -> None:
    """Two writers of one process opening files in the same second (two libraries, or
    ``serve`` and an exporter) differ by more than the random token."""
    clock = FakeClock()
    one, two = _writer(tmp_path / "a", clock), _writer(tmp_path / "b", clock)
    first, second = one.write(span_batch(1)), two.write(span_batch(1))
    one.close()
    two.close()
    assert first.name.split("-")[:3] == second.name.split("-")[:3]  # signal, second, pid
    assert first.name.split("-")[3] != second.name.split("-")[3]

"""Following stored files as they grow: a stream being written is read batch by batch, never
past its last complete batch; sealed files from a position; row counts from metadata."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from otlp_arrow.errors import StorageError
from otlp_arrow.storage.layout import RotationPolicy
from otlp_arrow.storage.seal import seal_file
from otlp_arrow.storage.tail import RowCounter, StreamTail, parquet_batches
from otlp_arrow.storage.writer import SignalWriter
from tests.helpers import span_batch


def ids(batches: list[pa.RecordBatch]) -> list[bytes]:
    return [i for b in batches for i in b.column("span_id").to_pylist()]


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_a_growing_stream_is_read_batch_by_batch(tmp_path: Path, compression: str | None) -> None:
    writer = SignalWriter(tmp_path, "traces", RotationPolicy(2**30, 3600), compression)
    batches = [span_batch(n, seed) for seed, n in enumerate((5, 7, 3))]
    path = writer.write(batches[0])
    tail, counter = StreamTail(path), RowCounter()
    assert ids(tail.read()) == ids(batches[:1]) and tail.read() == []
    assert counter.count(path) == (5, False)
    writer.write(batches[1])
    with path.open("ab") as handle:  # half a message more: not a complete batch yet
        handle.write(b"\xff\xff\xff\xff\x40\x00\x00\x00" + b"\x00" * 10)
    assert ids(tail.read()) == ids(batches[1:2]) and not tail.ended
    assert counter.count(path) == (12, False)
    tail.close()
    writer.close()


def test_a_closed_stream_ends_and_its_sealed_copy_reads_from_a_position(tmp_path: Path) -> None:
    writer = SignalWriter(tmp_path, "traces", RotationPolicy(2**30, 3600), "zstd")
    batches = [span_batch(n, seed) for seed, n in enumerate((5, 7, 3))]
    for batch in batches:
        path = writer.write(batch)
    writer.close()
    tail, counter = StreamTail(path), RowCounter()
    assert ids(tail.read()) == ids(batches) and tail.ended and tail.rows_read == 15
    assert counter.count(path) == (15, True)
    tail.close()
    sealed = seal_file(path, tmp_path)
    assert sealed is not None
    assert ids(list(parquet_batches(sealed, 6))) == ids(batches)[6:]
    assert list(parquet_batches(sealed, 15)) == []
    assert counter.count(sealed) == (15, True)
    counter.forget_others(set())
    assert counter.count(path) == (0, True)  # gone
    assert StreamTail(path).read() == [] and list(parquet_batches(path.with_suffix(".x"), 0)) == []


def test_not_a_stream_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "x.arrows"
    path.write_bytes(b"PAR1" * 4)
    with pytest.raises(StorageError):
        StreamTail(path).read()
    with pytest.raises(StorageError):
        RowCounter().count(path)

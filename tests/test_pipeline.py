"""The bounded pipeline: limits, flush semantics, retries, concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pytest

from otlp_arrow import BufferFullError, ClosedError, OtlpLibrary, StorageError, read_table
from otlp_arrow.pipeline import Pipeline
from otlp_arrow.schema import Signal
from tests.helpers import span_batch


class GatedSink:
    """A sink that records batches, and can be held closed or made to fail."""

    def __init__(self) -> None:
        self.rows = 0
        self.open = threading.Event()
        self.open.set()
        self.fail_with: StorageError | None = None
        self.closed = False

    def write(self, signal: Signal, batch: pa.RecordBatch) -> None:
        self.open.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        self.rows += batch.num_rows

    def sync(self) -> None:
        pass

    def tick(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _pipeline(sink: GatedSink, **limits: int) -> Pipeline:
    values = {"max_rows": 1000, "max_bytes": 10**9, "batch_rows": 10**6}
    values.update(limits)
    return Pipeline(sink, write_interval_s=0.02, **values)


def test_full_buffer_refuses_the_whole_export_and_accepts_again_after_writing() -> None:
    sink = GatedSink()
    sink.open.clear()  # the writer is stuck: nothing leaves the buffer
    pipeline = _pipeline(sink, max_rows=250)
    pipeline.submit("traces", span_batch(100))
    pipeline.submit("traces", span_batch(100))
    with pytest.raises(BufferFullError, match=r"200 rows .* buffered.*100 traces rows not"):
        pipeline.submit("traces", span_batch(100))
    assert pipeline.snapshot().buffered_rows == 200  # nothing of the refused export kept
    assert pipeline.snapshot().rows_refused == {"traces": 100}
    sink.open.set()
    assert pipeline.flush(5)
    pipeline.submit("traces", span_batch(100))
    pipeline.close(5)
    assert sink.rows == 300 and sink.closed


def test_byte_limit() -> None:
    batch = span_batch(100)
    sink = GatedSink()
    sink.open.clear()  # the writer is stuck: the first batch cannot leave the buffer meanwhile
    pipeline = _pipeline(sink, max_bytes=batch.nbytes + 10)
    pipeline.submit("traces", batch)
    with pytest.raises(BufferFullError, match="bytes"):
        pipeline.submit("traces", span_batch(1))
    sink.open.set()
    pipeline.close(5)


def test_flush_times_out_while_the_writer_is_stuck() -> None:
    sink = GatedSink()
    sink.open.clear()
    pipeline = _pipeline(sink)
    pipeline.submit("logs", span_batch(5))
    assert pipeline.flush(0.1) is False
    sink.open.set()
    assert pipeline.flush(5) is True
    pipeline.close(5)


def test_failed_writes_are_kept_retried_and_reported() -> None:
    sink = GatedSink()
    sink.fail_with = StorageError("disk on fire", "/x")
    pipeline = _pipeline(sink)
    pipeline.submit("traces", span_batch(7))
    with pytest.raises(StorageError, match="disk on fire"):
        pipeline.flush(5)
    assert pipeline.snapshot().buffered_rows == 7
    sink.fail_with = None
    assert pipeline.flush(5)
    assert sink.rows == 7
    assert pipeline.snapshot().last_error is None


def test_writes_as_soon_as_a_batch_is_large_enough() -> None:
    sink = GatedSink()
    pipeline = Pipeline(sink, max_rows=10**6, max_bytes=10**9, batch_rows=50, write_interval_s=3600)
    pipeline.submit("traces", span_batch(60))
    for _ in range(200):
        if sink.rows:
            break
        threading.Event().wait(0.01)
    assert sink.rows == 60  # long before the one-hour interval
    pipeline.close(5)


def test_closed_pipeline_refuses() -> None:
    pipeline = _pipeline(GatedSink())
    pipeline.close(5)
    with pytest.raises(ClosedError):
        pipeline.submit("traces", span_batch(1))
    pipeline.close(5)  # twice is fine


def test_many_threads_export_through_one_library(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def work(library: OtlpLibrary, seed: int) -> None:
        try:
            for i in range(10):
                library.export_traces(span_batch(20, seed * 100 + i))
                if i % 3 == 0:
                    library.flush()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with OtlpLibrary(output_dir=tmp_path, write_interval="10ms", rotate_bytes="64KiB") as lib:
        threads = [threading.Thread(target=work, args=(lib, s)) for s in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not errors
    table = read_table(tmp_path, "traces")
    assert table.num_rows == 8 * 10 * 20
    assert len(set(table.column("span_id").to_pylist())) == 1600  # nothing twice


def test_an_export_larger_than_the_whole_buffer_says_so() -> None:
    pipeline = _pipeline(GatedSink(), max_rows=50)
    with pytest.raises(BufferFullError, match="larger than the buffer limits"):
        pipeline.submit("traces", span_batch(60))
    pipeline.close(5)


class BrokenSink(GatedSink):
    def write(self, signal: Signal, batch: pa.RecordBatch) -> None:
        raise RuntimeError("a bug in the writer")


def test_an_unexpected_writer_error_is_reported_not_swallowed() -> None:
    pipeline = _pipeline(BrokenSink())
    pipeline.submit("traces", span_batch(3))
    with pytest.raises(StorageError, match="RuntimeError: a bug in the writer"):
        pipeline.flush(5)
    assert pipeline.snapshot().buffered_rows == 3  # kept, not dropped
    with pytest.raises(StorageError, match="3 buffered rows could not be written"):
        pipeline.close(2)

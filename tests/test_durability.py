"""What an acknowledgement means: ``buffered`` (in memory), ``written`` (in the file, handed
to the OS), ``synced`` (fsync'd). Durable submits wait for their write round; requests waiting
together share one write (group commit); a failed write refuses them instead of keeping them."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from otlp_arrow import StorageError
from otlp_arrow.pipeline import Durability, Pipeline
from otlp_arrow.schema import Signal
from tests.helpers import span_batch, wait_for


class RecordingSink:
    """Records what reaches the 'file' and when it is synced; can be held, or fail for
    writes larger than ``room`` rows (a disk with a little space left)."""

    def __init__(self) -> None:
        self.written: list[int] = []  # rows per write call
        self.syncs = 0
        self.synced_rows = 0
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()  # a write call has begun (and may be held)
        self.room: int | None = None  # None: unlimited
        self.fail_sync = False

    def write(self, signal: Signal, batch: pa.RecordBatch) -> None:
        self.entered.set()
        self.gate.wait(10)
        if self.room is not None and batch.num_rows > self.room:
            raise StorageError("No space left on device", "/disk")
        if self.room is not None:
            self.room -= batch.num_rows
        self.written.append(batch.num_rows)

    def sync(self) -> None:
        if self.fail_sync:
            raise StorageError("fsync failed: Input/output error", "/disk")
        self.syncs += 1
        self.synced_rows = sum(self.written)

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


def _pipeline(sink: RecordingSink, durability: Durability, **kw: float) -> Pipeline:
    values: dict[str, float] = {"write_interval_s": 3600, "wait_s": 5}
    values.update(kw)
    return Pipeline(
        sink, max_rows=10**6, max_bytes=10**9, batch_rows=10**6, durability=durability, **values
    )


def test_written_returns_once_the_rows_are_in_the_file_not_before() -> None:
    sink = RecordingSink()
    pipeline = _pipeline(sink, "written")  # a one-hour write interval: only waiting wakes it
    pipeline.submit("traces", span_batch(10))
    assert sink.written == [10] and sink.syncs == 0  # written, not synced
    pipeline.close(5)


def test_synced_also_syncs_before_returning() -> None:
    sink = RecordingSink()
    pipeline = _pipeline(sink, "synced")
    pipeline.submit("logs", span_batch(4))
    assert sink.synced_rows == 4 and sink.syncs == 1
    pipeline.close(5)


def test_buffered_returns_at_once() -> None:
    sink = RecordingSink()
    sink.gate.clear()
    pipeline = _pipeline(sink, "buffered")
    pipeline.submit("traces", span_batch(3))  # the writer is stuck; buffered does not wait
    assert sink.written == []
    sink.gate.set()
    assert pipeline.flush(5)
    pipeline.close(5)


def test_requests_waiting_together_share_one_write_and_one_sync() -> None:
    sink = RecordingSink()
    pipeline = _pipeline(sink, "synced")
    sink.gate.clear()  # the first request's round is in progress, the others queue up
    first = threading.Thread(target=pipeline.submit, args=("traces", span_batch(1)))
    first.start()
    wait_for(sink.entered.is_set, "the first round to reach the sink")  # not only buffered
    others = [
        threading.Thread(target=pipeline.submit, args=("traces", span_batch(5, seed)))
        for seed in range(8)
    ]
    for thread in others:
        thread.start()
    wait_for(lambda: pipeline.snapshot().buffered_rows == 41, "the others to wait")
    sink.gate.set()
    for thread in [first, *others]:
        thread.join(10)
    assert sink.written == [1, 40] and sink.syncs == 2  # two rounds for nine requests
    pipeline.close(5)


def test_a_failed_write_refuses_the_request_and_keeps_nothing() -> None:
    sink = RecordingSink()
    sink.room = 0
    pipeline = _pipeline(sink, "written")
    with pytest.raises(StorageError, match="No space left"):
        pipeline.submit("traces", span_batch(10))
    stats = pipeline.snapshot()
    assert stats.buffered_rows == 0 and stats.rows_refused == {"traces": 10}
    assert pipeline.writable is False  # readiness follows
    sink.room = 100
    pipeline.submit("traces", span_batch(10))  # works again: the next request is written
    assert pipeline.writable is True and sink.written == [10]
    pipeline.close(5)


def test_rounds_that_write_nothing_do_not_claim_the_disk_works_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = RecordingSink()
    sink.room = 0
    pipeline = _pipeline(sink, "written", write_interval_s=0.01)
    with caplog.at_level(logging.WARNING, "otlp_arrow"):
        with pytest.raises(StorageError, match="No space left"):
            pipeline.submit("traces", span_batch(10))
        rounds = pipeline._rounds  # write rounds completed (not a public number)
        wait_for(lambda: pipeline._rounds >= rounds + 5, "rounds with nothing to write")
        assert pipeline.snapshot().last_error == "No space left on device"
        assert "works again" not in caplog.text  # nothing was written since the failure
        assert pipeline.writable is False  # and readiness still says so
        sink.room = 100
        pipeline.submit("traces", span_batch(10))
        assert pipeline.snapshot().last_error is None and "works again" in caplog.text
    pipeline.close(5)


def test_a_failed_sync_refuses_the_requests_of_that_round() -> None:
    sink = RecordingSink()
    sink.fail_sync = True
    pipeline = _pipeline(sink, "synced")
    with pytest.raises(StorageError, match="fsync failed"):
        pipeline.submit("traces", span_batch(2))
    pipeline.close(5)


def test_after_a_failure_the_writer_writes_in_pieces_that_fit() -> None:
    """A disk with room for 12 rows: the round of three 5-row requests fails as one write;
    written one by one, two of them fit."""
    sink = RecordingSink()
    sink.room = 0
    pipeline = _pipeline(sink, "written", write_interval_s=0.02)
    with pytest.raises(StorageError):
        pipeline.submit("traces", span_batch(1))  # the disk is full: the writer is degraded
    sink.room = 12
    sink.gate.clear()
    results: list[str] = []

    def send(seed: int) -> None:
        try:
            pipeline.submit("traces", span_batch(5, seed))
            results.append("ok")
        except StorageError:
            results.append("refused")

    threads = [threading.Thread(target=send, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    wait_for(lambda: pipeline.snapshot().buffered_rows == 15, "all three to wait")
    sink.gate.set()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == ["ok", "ok", "refused"] and sink.written == [5, 5]
    pipeline.close(5)


def test_a_request_not_written_in_time_is_withdrawn() -> None:
    sink = RecordingSink()
    sink.gate.clear()
    pipeline = _pipeline(sink, "written", wait_s=0.2)
    holder = threading.Thread(target=lambda: pipeline.submit("traces", span_batch(1)))
    holder.start()  # its round blocks in the sink
    # in the sink, not only buffered: a request submitted before its round began would join it
    wait_for(sink.entered.is_set, "the round to reach the sink")
    assert pipeline.snapshot().buffered_rows == 1
    started = time.monotonic()
    with pytest.raises(StorageError, match="not written within"):
        pipeline.submit("traces", span_batch(3))  # still waiting for a round: taken back
    assert time.monotonic() - started < 2
    assert pipeline.snapshot().buffered_rows == 1  # only the one being written
    sink.gate.set()
    holder.join(10)
    pipeline.close(5)
    assert sink.written == [1]  # the withdrawn request was never written


def test_synced_library_writes_rotates_and_reads_back(tmp_path: Path) -> None:
    """The real writer in ``synced`` mode: files and their new partition directories are
    fsync'd as rows are acknowledged and as files close on rotation."""
    from otlp_arrow import OtlpLibrary, read_table
    from tests.helpers import all_sealed

    with OtlpLibrary(
        output_dir=tmp_path, durability="synced", rotate_bytes="32KiB", write_interval="1h"
    ) as library:
        assert library.durability == "synced" and library.writable
        for seed in range(6):
            library.export_traces(span_batch(60, seed))  # returns once synced: no flush
        assert read_table(tmp_path, "traces").num_rows == 360
    assert all_sealed(tmp_path, "traces")


def test_written_library_raises_storage_error_and_keeps_nothing(tmp_path: Path) -> None:
    """In-process, a durable export that cannot be written raises StorageError at once (a
    directory stands where the next file would go), and nothing of it stays buffered."""
    from otlp_arrow import OtlpLibrary

    blocked = tmp_path / "traces"
    blocked.write_text("a file where the signal's directory should be")
    library = OtlpLibrary(output_dir=tmp_path, durability="written")
    try:
        with pytest.raises(StorageError, match="traces"):
            library.export_traces(span_batch(5))
        assert library.stats()["buffered_rows"] == 0 and not library.writable
    finally:
        blocked.unlink()
        library.shutdown()

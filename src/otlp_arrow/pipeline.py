"""One signal-agnostic bounded buffer between the entry points and the writer.

Entry points ``submit`` record batches; a single worker thread writes them every
``write_interval`` or as soon as ``batch_rows`` rows are waiting. The buffer is bounded by rows
and by bytes; a submit that does not fit raises :class:`BufferFullError` and nothing of it is
kept.

What a returning ``submit`` means is the ``durability``:

- ``buffered``: the rows are in memory. A failed write keeps them at the front of the buffer
  and retries them every round; ``flush`` reports the failure.
- ``written``: the rows are in the file (handed to the OS; they survive ``kill -9``). The call
  wakes the writer and waits for its round; everything waiting when a round starts is written
  together (group commit). A failed write refuses the waiting requests with StorageError and
  keeps nothing of them, so a client's retry never stores a row twice.
- ``synced``: as ``written``, and the files are fsync'd before the calls return (they survive
  a power cut); one sync per round, shared by all the requests in it.

After a failed round the writer writes request by request, stopping at the first failure, so
a little freed space makes progress at once (a full disk costs time, not data).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args

import pyarrow as pa

from otlp_arrow.errors import BufferFullError, ClosedError, StorageError
from otlp_arrow.schema import Signal, combine_batches

log = logging.getLogger(__name__)


Durability = Literal["buffered", "written", "synced"]
DURABILITIES: tuple[Durability, ...] = get_args(Durability)


class Sink(Protocol):
    def write(self, signal: Signal, batch: pa.RecordBatch) -> None: ...
    def sync(self) -> None: ...
    def tick(self) -> None: ...
    def close(self) -> None: ...


@dataclass(eq=False)
class _Item:
    seq: int
    signal: Signal
    batch: pa.RecordBatch
    nbytes: int
    waited: bool = False  # a durable submit waits for it: refused, not retried, on failure
    state: Literal["pending", "writing", "written", "failed"] = "pending"
    error: StorageError | None = None


@dataclass
class PipelineStats:
    rows_accepted: dict[Signal, int] = field(default_factory=dict)
    rows_written: dict[Signal, int] = field(default_factory=dict)
    rows_refused: dict[Signal, int] = field(default_factory=dict)
    batches_written: int = 0
    write_errors: int = 0
    buffered_rows: int = 0
    buffered_bytes: int = 0
    last_error: str | None = None


class Pipeline:
    def __init__(
        self,
        sink: Sink,
        *,
        max_rows: int,
        max_bytes: int,
        batch_rows: int,
        write_interval_s: float,
        durability: Durability = "buffered",
        wait_s: float = 30.0,
        name: str = "otlp-arrow-writer",
    ) -> None:
        self._sink = sink
        self.durability = durability
        self._wait_s = wait_s  # how long a durable submit waits for its round to start
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._batch_rows = batch_rows
        self._interval = write_interval_s
        self._cond = threading.Condition()
        self._pending: deque[_Item] = deque()
        self._rows = 0  # buffered rows, pending or being written
        self._bytes = 0
        self._pending_rows = 0
        self._seq = 0  # last sequence number handed out
        self._durable = 0  # every item with seq <= this is written
        self._started = 0  # write rounds started (items taken)
        self._rounds = 0  # write rounds completed
        self._round_error: StorageError | None = None  # error of the last round, if any
        self._degraded = False  # the last round failed: write request by request
        self._wake = False
        self._closing = False
        self._closed = False
        self.stats = PipelineStats()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- entry points ------------------------------------------------------------------------

    @property
    def writable(self) -> bool:
        """False while writes fail (since the last round failed): readiness follows it."""
        return not self._degraded

    def submit(self, signal: Signal, batch: pa.RecordBatch) -> None:
        """Accept ``batch`` entirely, or raise BufferFullError / ClosedError and keep none of it;
        with a durable ``durability`` return once it is written (or synced), or raise
        StorageError and keep none of it."""
        rows = batch.num_rows
        if rows == 0:
            return
        nbytes = batch.nbytes
        with self._cond:
            if self._closing:
                raise ClosedError("otlp-arrow is shut down; it accepts no more data")
            if rows > self._max_rows or nbytes > self._max_bytes:
                self.stats.rows_refused[signal] = self.stats.rows_refused.get(signal, 0) + rows
                raise BufferFullError(
                    f"this export ({rows} {signal} rows, {nbytes} bytes) is larger than the "
                    f"buffer limits ({self._max_rows} rows / {self._max_bytes} bytes): split "
                    "it, or raise max_buffer_rows / max_buffer_bytes"
                )
            if self._rows + rows > self._max_rows or self._bytes + nbytes > self._max_bytes:
                self.stats.rows_refused[signal] = self.stats.rows_refused.get(signal, 0) + rows
                raise BufferFullError(
                    f"buffer full: {self._rows} rows / {self._bytes} bytes buffered, "
                    f"limits {self._max_rows} rows / {self._max_bytes} bytes; "
                    f"{rows} {signal} rows not accepted, retry later"
                    + (
                        f" (writes are failing: {self.stats.last_error})"
                        if self.stats.last_error
                        else ""
                    )
                )
            self._seq += 1
            waited = self.durability != "buffered"
            item = _Item(self._seq, signal, batch, nbytes, waited)
            self._pending.append(item)
            self._rows += rows
            self._bytes += nbytes
            self._pending_rows += rows
            if waited or self._pending_rows >= self._batch_rows:
                self._wake = True
                self._cond.notify_all()
            if waited:
                self._wait(item)
            self.stats.rows_accepted[signal] = self.stats.rows_accepted.get(signal, 0) + rows

    def _wait(self, item: _Item) -> None:
        """Wait (holding the condition) until ``item``'s round is done; withdraw it if its
        round has not started within ``wait_s``. Raises StorageError unless it is written."""
        deadline = time.monotonic() + self._wait_s
        while item.state in ("pending", "writing"):
            remaining = deadline - time.monotonic()
            if item.state == "pending" and remaining <= 0:
                self._pending.remove(item)
                self._forget(item)
                self._pending_rows -= item.batch.num_rows
                self._refused(item)
                raise StorageError(
                    f"{item.batch.num_rows} {item.signal} rows not written within "
                    f"{self._wait_s:g} s (the writer is busy or stuck); nothing of them is kept"
                )
            self._cond.wait(remaining if item.state == "pending" else None)
        if item.state == "failed":
            assert item.error is not None
            raise item.error

    def _forget(self, item: _Item) -> None:
        self._rows -= item.batch.num_rows
        self._bytes -= item.nbytes

    def _refused(self, item: _Item) -> None:
        rows = item.batch.num_rows
        self.stats.rows_refused[item.signal] = self.stats.rows_refused.get(item.signal, 0) + rows

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything submitted before this call is written.

        Returns False if ``timeout_s`` passes first. Raises StorageError if a write round that
        started after this call failed (the data stays buffered and is retried).
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            target = self._seq
            first_round = self._started + 1  # the first round to take items after this call
            self._wake = True
            self._cond.notify_all()
            while self._durable < target:
                if self._rounds >= first_round and self._round_error is not None:
                    raise self._round_error
                if self._closed:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            if self._durable < target and self._round_error is not None:
                raise self._round_error
            return self._durable >= target

    def close(self, timeout_s: float | None = None) -> None:
        """Stop accepting, write what is buffered, close the sink. Raises StorageError naming
        how many rows could not be written if the writes keep failing."""
        with self._cond:
            if self._closing:
                already = True
            else:
                already = False
                self._closing = True
                self._wake = True
                self._cond.notify_all()
        if already:
            self._thread.join(timeout_s)
            return
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise StorageError(
                f"writer did not finish within {timeout_s} s; {self._rows} rows still buffered"
            )
        if self._rows:
            raise StorageError(
                f"{self._rows} buffered rows could not be written before shutdown: "
                f"{self.stats.last_error}"
            )

    def snapshot(self) -> PipelineStats:
        with self._cond:
            self.stats.buffered_rows = self._rows
            self.stats.buffered_bytes = self._bytes
            return dataclasses.replace(
                self.stats,
                rows_accepted=dict(self.stats.rows_accepted),
                rows_written=dict(self.stats.rows_written),
                rows_refused=dict(self.stats.rows_refused),
            )

    # -- worker --------------------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = time.monotonic() + self._interval
        final_attempts = 3
        while True:
            with self._cond:
                while not (self._wake or self._closing):
                    remaining = next_tick - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                self._wake = False
                self._started += 1
                items = list(self._pending)
                self._pending.clear()
                self._pending_rows = 0
                for item in items:
                    item.state = "writing"
                closing = self._closing
            written, failed, error = self._write(items)
            if written and self.durability == "synced":
                sync_error = self._safe(self._sink.sync)
                if sync_error is not None:  # in the file, but not known to be on disk
                    failed, written, error = written + failed, [], sync_error
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self._interval
                error = self._safe(self._sink.tick) or error
            with self._cond:
                self._finish_round(written, failed, error)
                if closing and (not self._rows or final_attempts <= 1):
                    break
            if closing:
                final_attempts -= 1
                if failed:
                    time.sleep(min(self._interval, 0.2))
            elif failed:
                # keep retrying every interval, not in a tight loop
                next_tick = time.monotonic() + self._interval
        close_error = self._safe(self._sink.close)
        with self._cond:
            if close_error is not None:
                self.stats.last_error = str(close_error)
            self._closed = True
            self._cond.notify_all()

    def _write(self, items: list[_Item]) -> tuple[list[_Item], list[_Item], StorageError | None]:
        """Write ``items`` per signal: (written, failed, the last error)."""
        by_signal: dict[Signal, list[_Item]] = {}
        for item in items:
            by_signal.setdefault(item.signal, []).append(item)
        written: list[_Item] = []
        failed: list[_Item] = []
        error: StorageError | None = None
        for signal, group in by_signal.items():
            done, left, group_error = self._write_group(signal, group)
            written += done
            failed += left
            if group_error is not None:
                error = group_error
                # once per failure spell, not every retry: a broken disk must not flood the log
                log.log(
                    logging.DEBUG if self.stats.last_error else logging.WARNING,
                    "writing %d %s rows failed (%s): %s",
                    sum(item.batch.num_rows for item in left),
                    signal,
                    "refused" if self.durability != "buffered" else "kept, retried",
                    group_error,
                )
        return written, failed, error

    def _write_group(
        self, signal: Signal, group: list[_Item]
    ) -> tuple[list[_Item], list[_Item], StorageError | None]:
        """One write of the whole group; after a failure (this round's or the last one's),
        request by request until one fails, so whatever still fits is written."""
        if not self._degraded:
            error = self._write_one(signal, [item.batch for item in group])
            if error is None:
                return group, [], None
            if len(group) == 1:
                return [], group, error
        for index, item in enumerate(group):
            error = self._write_one(signal, [item.batch])
            if error is not None:
                return group[:index], group[index:], error
        return group, [], None

    def _write_one(self, signal: Signal, batches: list[pa.RecordBatch]) -> StorageError | None:
        try:
            self._sink.write(signal, combine_batches(batches))
        except Exception as exc:  # the writer thread must never die: report instead
            error = (
                exc
                if isinstance(exc, StorageError)
                else StorageError(f"writing {signal} failed: {type(exc).__name__}: {exc}")
            )
            error.__cause__ = exc
            if not isinstance(exc, StorageError):
                log.error("unexpected error while writing %s", signal, exc_info=exc)
            return error
        rows = sum(batch.num_rows for batch in batches)
        self.stats.rows_written[signal] = self.stats.rows_written.get(signal, 0) + rows
        self.stats.batches_written += 1
        return None

    def _finish_round(
        self, written: list[_Item], failed: list[_Item], error: StorageError | None
    ) -> None:
        for item in written:
            item.state = "written"
            self._forget(item)
        retry = []
        for item in failed:
            if item.waited:  # its submit is told, and the rows are not kept
                item.state, item.error = "failed", error
                self._forget(item)
                self._refused(item)
            else:
                item.state = "pending"
                retry.append(item)
        if retry:
            self._pending.extendleft(reversed(sorted(retry, key=lambda i: i.seq)))
            self._pending_rows += sum(item.batch.num_rows for item in retry)
        self._durable = (self._pending[0].seq - 1) if self._pending else self._seq
        self._rounds += 1
        self._round_error = error
        if error is not None:
            self._degraded = True
            self.stats.write_errors += 1
            self.stats.last_error = str(error)
        elif written:  # a round with nothing to write says nothing about the disk
            self._degraded = False
            if self.stats.last_error is not None and not self._pending:
                log.warning("writing works again; all buffered rows are written")
                self.stats.last_error = None
        self._cond.notify_all()

    @staticmethod
    def _safe(action: Callable[[], None]) -> StorageError | None:
        try:
            action()
        except StorageError as exc:
            log.warning("%s", exc)
            return exc
        return None

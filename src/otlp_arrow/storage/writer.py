"""Append record batches to Arrow IPC stream files, one open file per signal, with rotation.

Only the pipeline's worker thread calls a :class:`Writer`, so it holds no locks.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from otlp_arrow.errors import StorageError
from otlp_arrow.schema import SIGNALS, Signal, schema_for
from otlp_arrow.storage import fs, locks, reader, retention, seal
from otlp_arrow.storage.layout import RotationPolicy, file_name, partition_dir
from otlp_arrow.storage.retention import RetentionPolicy

log = logging.getLogger(__name__)
#: The sequence number in file names: one per process, whichever writer opens the file.
_SEQUENCE = itertools.count(1)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _OpenFile:
    path: Path
    sink: BinaryIO
    stream: pa.ipc.RecordBatchStreamWriter
    opened: datetime
    size: int = 0
    batches: int = 0
    synced_size: int = -1  # the size at the last fsync; -1: the new file's directory neither


class SignalWriter:
    """Writes one signal's batches to a rotating sequence of IPC stream files."""

    def __init__(
        self,
        output_dir: Path,
        signal: Signal,
        rotation: RotationPolicy,
        compression: str | None,
        clock: Clock = utc_now,
        on_closed: Callable[[Path], None] | None = None,
    ) -> None:
        self.output_dir = output_dir
        self.signal = signal
        self.on_closed = on_closed
        self.schema = schema_for(signal)
        self.rotation = rotation
        self.options = pa.ipc.IpcWriteOptions(compression=compression)
        self.clock = clock
        self.current: _OpenFile | None = None
        self.sync_on_close = False  # set by Writer(sync=True): a file is synced as it closes
        self.files_written = 0
        self.batches_written = 0

    def write(self, batch: pa.RecordBatch) -> Path:
        """Append ``batch`` as one IPC message, flushed to the OS, and return the file's path.

        On failure the file is abandoned (its complete batches stay readable) and
        StorageError is raised; the caller keeps the batch and retries into a new file.
        """
        now = self.clock()
        if self.current is not None and self.rotation.should_rotate(
            self.current.opened, now, self.current.size
        ):
            self.close()
        if self.current is None:
            self.current = self._open(now)
        current = self.current
        try:
            current.stream.write_batch(batch)
            current.sink.flush()
            current.size = current.sink.tell()
        except (OSError, pa.ArrowException) as exc:
            self._abandon()
            cause = fs.describe(exc) if isinstance(exc, OSError) else str(exc)
            raise StorageError(f"cannot write to {current.path}: {cause}", current.path) from exc
        current.batches += 1
        self.batches_written += 1
        if current.size >= self.rotation.max_bytes:
            self.close()
        return current.path

    def sync(self) -> None:
        """fsync the open file (and, the first time, its directory, so the new name is on
        disk too). A file closed since the last sync was synced when it was closed."""
        current = self.current
        if current is None or current.synced_size == current.size:
            return
        try:
            fs.sync(current.sink)
            if current.synced_size < 0:
                self._sync_dirs(current.path)
        except StorageError:
            self._abandon()
            raise
        current.synced_size = current.size

    def _sync_dirs(self, path: Path) -> None:
        """A new file's name, and the partition directories that may be new with it."""
        directory = path.parent
        while directory != self.output_dir and self.output_dir in directory.parents:
            fs.sync_dir(directory)
            directory = directory.parent

    def tick(self) -> None:
        """Close the open file if it is due for rotation by age or hour (no write needed)."""
        if self.current is not None and self.rotation.should_rotate(
            self.current.opened, self.clock(), self.current.size
        ):
            self.close()

    def close(self) -> None:
        """Close the open file with the end-of-stream marker."""
        current, self.current = self.current, None
        if current is None:
            return
        try:
            current.stream.close()
            if self.sync_on_close and current.synced_size != current.size:
                fs.sync(current.sink)
                if current.synced_size < 0:
                    self._sync_dirs(current.path)
            current.sink.close()
        except (OSError, pa.ArrowException, StorageError) as exc:
            _quiet_close(current.sink)
            raise StorageError(f"cannot close {current.path}: {exc}", current.path) from exc
        log.debug("closed %s (%d batches, %d bytes)", current.path, current.batches, current.size)
        if self.on_closed is not None:
            self.on_closed(current.path)

    @property
    def open_path(self) -> Path | None:
        return self.current.path if self.current else None

    def _open(self, now: datetime) -> _OpenFile:
        directory = partition_dir(self.output_dir, self.signal, now)
        while True:
            self.files_written += 1
            path = directory / file_name(
                self.signal, now, os.getpid(), next(_SEQUENCE), secrets.token_hex(4)
            )
            try:  # locked while open: "being written", retention and sealers keep off
                sink = locks.create_held(path)
                break
            except FileExistsError:  # pragma: no cover - needs a 32-bit random collision
                continue
        try:
            stream = pa.ipc.new_stream(sink, self.schema, options=self.options)
            sink.flush()
        except (OSError, pa.ArrowException) as exc:
            _quiet_close(sink)
            raise StorageError(f"cannot write to {path}: {exc}", path) from exc
        log.debug("opened %s", path)
        return _OpenFile(path, sink, stream, now, sink.tell())

    def _abandon(self) -> None:
        """Give up the open file after a failed write: cut it back to its last complete batch
        (so a full disk gets its space back) or delete it if it holds no batch."""
        current, self.current = self.current, None
        if current is None:
            return
        _quiet_close(current.sink)
        if current.batches:
            fs.truncate(current.path, current.size)
        else:
            with contextlib.suppress(StorageError):
                fs.remove(current.path, stop=self.output_dir / self.signal)


def _quiet_close(sink: BinaryIO) -> None:
    with contextlib.suppress(OSError):
        sink.close()


class Writer:
    """All signals' writers, plus retention and (if ``seal``) sealing of closed files as
    Parquet on a background thread. The pipeline's sink."""

    def __init__(
        self,
        output_dir: Path,
        rotation: RotationPolicy,
        compression: str | None,
        retention_policies: dict[Signal, RetentionPolicy],
        retention_interval_s: float,
        clock: Clock = utc_now,
        *,
        seal_files: bool = True,
        on_written: Callable[[Signal, pa.RecordBatch], None] | None = None,
        sync: bool = False,
        retention_guard: retention.Guard | None = None,
        on_sealed: Callable[[Path], None] | None = None,
    ) -> None:
        self.output_dir = output_dir
        self.on_written = on_written  # told of every batch once it is in a file
        self.retention_guard = retention_guard  # the forwarder: keeps unforwarded files
        self.sealer = seal.Sealer(on_sealed) if seal_files else None
        self.writers = {
            s: SignalWriter(
                output_dir, s, rotation, compression, clock, self._closed(s) if seal_files else None
            )
            for s in SIGNALS
        }
        for writer in self.writers.values():
            writer.sync_on_close = sync
        if self.sealer is not None:  # files an earlier run closed but did not seal
            for signal in SIGNALS:
                self.sealer.submit_pending(output_dir / signal)
        self.retention_policies = retention_policies
        self.retention_interval_s = retention_interval_s
        self._next_retention = 0.0
        self.files_deleted = 0
        self.rows_deleted: dict[Signal, int] = {}  # rows in the files retention deleted

    def _closed(self, signal: Signal) -> Callable[[Path], None]:
        def submit(path: Path) -> None:
            assert self.sealer is not None
            self.sealer.submit(path, self.output_dir / signal)

        return submit

    @property
    def files_sealed(self) -> int:
        return self.sealer.files_sealed if self.sealer else 0

    @property
    def seal_errors(self) -> int:
        return self.sealer.errors if self.sealer else 0

    def write(self, signal: Signal, batch: pa.RecordBatch) -> None:
        self.writers[signal].write(batch)
        if self.on_written is not None:
            self.on_written(signal, batch)

    def sync(self) -> None:
        """fsync what was written since the last sync (durability ``synced``)."""
        for writer in self.writers.values():
            writer.sync()

    def tick(self) -> None:
        """Periodic work: rotation by age, and retention every ``retention_interval_s``."""
        for writer in self.writers.values():
            writer.tick()
        now = time.time()
        if now >= self._next_retention:
            self._next_retention = now + self.retention_interval_s
            self.enforce_retention(now)

    def enforce_retention(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for signal, writer in self.writers.items():
            policy = self.retention_policies.get(signal)
            if policy is None or not policy.enabled:
                continue
            keep = [writer.open_path] if writer.open_path else []
            deleted = retention.apply(
                self.output_dir / signal,
                now,
                policy,
                keep,
                rows_of=reader.count_rows,
                guard=self.retention_guard,
            )
            self.files_deleted += len(deleted)
            rows = sum(f.rows or 0 for f in deleted)
            self.rows_deleted[signal] = self.rows_deleted.get(signal, 0) + rows

    def close(self) -> None:
        """Close every open file (each goes to the sealer); :meth:`finish_sealing` waits."""
        errors: list[StorageError] = []
        for writer in self.writers.values():
            try:
                writer.close()
            except StorageError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def finish_sealing(self) -> None:
        """Seal what is left, however long it takes: the files are complete on disk, so a
        process killed meanwhile leaves them for the next start to seal."""
        if self.sealer is not None:
            if backlog := self.sealer.backlog:
                log.info("sealing the last %d closed files before stopping", backlog)
            self.sealer.close()

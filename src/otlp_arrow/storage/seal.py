"""Sealing: a closed IPC stream file is rewritten as Parquet (zstd) next to it, then deleted.

Why: Parquet with zstd is 1.3 to 3.7 times smaller than zstd IPC for our schemas (measured in
benches/bench_convert.py) and its row-group statistics let DuckDB, Polars and
``pyarrow.dataset`` skip data by time. Files being written stay IPC streams, so the newest
data is readable at once; readers take both (see ``storage.reader``).

Sealing is safe to repeat and to race: the Parquet file is written under a hidden temporary
name (locked while it is written, see ``storage.locks``), checked (row count), and renamed into
place atomically; only then is the stream file deleted. A stream file is sealed when its writer
closed it (end-of-stream marker) or when no live process holds its lock any more (a writer
killed mid-file: its complete batches are kept); another process's open file is never touched.
At start, temporary files nobody holds (a killed sealer's) are deleted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import secrets
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from otlp_arrow.errors import StorageError
from otlp_arrow.storage import fs, locks, parquet_format
from otlp_arrow.storage.layout import SEALED_SUFFIX, SUFFIX, sealed_path
from otlp_arrow.storage.reader import read_file

log = logging.getLogger(__name__)

#: The IPC stream end-of-stream marker: continuation token and a zero length.
END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"
#: Rows per Parquet row group (see ``storage.parquet_format``, which has the whole layout).
ROW_GROUP_ROWS = parquet_format.ROW_GROUP_ROWS


def seal_file(path: Path, stop: Path, *, closed_only: bool = True) -> Path | None:
    """Rewrite the closed stream file ``path`` as Parquet and delete it; return the Parquet
    path, or None if ``path`` is gone (deleted by retention, or sealed by another process) or
    not closed (``closed_only``; otherwise its complete batches are kept, see ``pending``).

    Raises StorageError if the file cannot be read or written; ``path`` is then left as it
    was (still readable) and no partial Parquet file remains.
    """
    with locks.Claim(path) as owned:  # no other sealer, nor retention, while we seal it
        if not owned:  # gone, or still held: its writer lives, or another process seals it
            return None
        return _seal_claimed(path, stop, closed_only)


def _seal_claimed(path: Path, stop: Path, closed_only: bool) -> Path | None:
    target = sealed_path(path)
    tmp = path.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        sink = locks.create_held(tmp)
        with sink:
            rows = _write_parquet(path, sink, closed_only)
        if rows is None:
            return None
        if rows == 0:  # only a schema (or the file vanished while reading): nothing to keep
            fs.remove(path, stop=stop)
            return None
        written = pq.ParquetFile(tmp).metadata.num_rows
        if written != rows:  # pragma: no cover - a defect of the Parquet writer
            raise StorageError(f"sealing {path}: wrote {written} of {rows} rows", path)
        fs.replace(tmp, target)
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(f"cannot seal {path}: {exc}", path) from exc
    finally:
        with contextlib.suppress(StorageError):
            fs.remove(tmp, stop=stop)
    fs.remove(path, stop=stop)
    return target


def _write_parquet(path: Path, sink: object, closed_only: bool) -> int | None:
    """Copy the batches of ``path`` into Parquet on ``sink`` in row groups of about
    ROW_GROUP_ROWS; the number of rows, or None if ``path`` is gone or not closed."""
    if closed_only and not fs.ends_with(path, END_OF_STREAM):
        return None
    rows = 0
    writer: pq.ParquetWriter | None = None
    pending: list[pa.RecordBatch] = []
    pending_rows = 0

    def flush(last: bool = False) -> None:
        """Write the full row groups of ``pending`` (``last``: all of it); keep the rest, so
        that every row group but the file's last has exactly ROW_GROUP_ROWS rows."""
        nonlocal pending, pending_rows
        if writer is None or not pending:
            return
        table = pa.Table.from_batches(pending)
        cut = table.num_rows if last else table.num_rows - table.num_rows % ROW_GROUP_ROWS
        # one chunk per column (and one dictionary): 5 % fewer instructions for the writer
        writer.write_table(table.slice(0, cut).combine_chunks(), row_group_size=ROW_GROUP_ROWS)
        pending = table.slice(cut).to_batches()
        pending_rows = table.num_rows - cut

    try:
        for batch in read_file(path):
            if writer is None:
                # rows stay in stream order: a forwarder's cursor counts rows of the same file
                writer = parquet_format.open_writer(sink, batch.schema, _signal(path))
            pending.append(batch)
            pending_rows += batch.num_rows
            rows += batch.num_rows
            if pending_rows >= ROW_GROUP_ROWS:
                flush()
        flush(last=True)
    finally:
        if writer is not None:
            writer.close()
    return rows


def _signal(path: Path) -> str:
    return path.name.split("-", 1)[0]  # names start with their signal (storage.layout)


def pending(signal_dir: Path) -> list[Path]:
    """Stream files under ``signal_dir`` to seal: closed ones an earlier run left unsealed, and
    those of a killed writer (no live process holds them); after deleting the temporary files
    of killed sealers (likewise: nobody holds them)."""
    locks.remove_abandoned(signal_dir)
    found = []
    files = fs.list_files(signal_dir, (SUFFIX, SEALED_SUFFIX))
    sealed = {f.path for f in files if f.path.suffix == SEALED_SUFFIX}
    for info in files:
        if info.path.suffix != SUFFIX:
            continue
        if info.path.with_suffix(SEALED_SUFFIX) in sealed:  # crashed after sealing it
            with contextlib.suppress(StorageError):
                fs.remove(info.path, stop=signal_dir)
            continue
        if fs.ends_with(info.path, END_OF_STREAM) or not locks.is_held(info.path):
            found.append(info.path)
    return found


class Sealer:
    """Seals closed files on its own thread, so that writing never waits for it."""

    def __init__(self, on_sealed: Callable[[Path], None] | None = None) -> None:
        self.on_sealed = on_sealed  # told of each Parquet file once it is in place
        # (path, signal dir): seal path; (None, signal dir): seal what is pending there
        self._queue: queue.SimpleQueue[tuple[Path | None, Path] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.files_sealed = 0
        self.errors = 0

    def submit(self, path: Path, stop: Path) -> None:
        """Seal ``path`` soon (``stop``: the signal directory, kept when emptied)."""
        self._put((path, stop))

    def submit_pending(self, signal_dir: Path) -> None:
        """Seal soon what an earlier run left unsealed under ``signal_dir``."""
        self._put((None, signal_dir))

    def _put(self, item: tuple[Path | None, Path]) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="otlp-arrow-sealer", daemon=True
                )
                self._thread.start()
            self._queue.put(item)

    @property
    def backlog(self) -> int:
        """Files (or pending scans) submitted and not started yet."""
        return self._queue.qsize()

    def close(self) -> None:
        """Seal everything submitted, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            path, stop = item
            try:
                todo = [path] if path is not None else pending(stop)
                for one in todo:
                    sealed = seal_file(one, stop, closed_only=path is not None)
                    if sealed is not None:
                        self.files_sealed += 1
                        if self.on_sealed is not None:
                            self.on_sealed(sealed)
            except StorageError as exc:
                self.errors += 1
                log.warning("%s; the file stays readable as it is", exc)
            except Exception:  # pragma: no cover - a defect; keep sealing the others
                self.errors += 1
                log.exception("unexpected error while sealing %s", path)

"""Follow stored files as they grow: new complete batches of an IPC stream file being written,
the rows of a sealed Parquet file after a position, and cheap row counts of both.

An IPC stream is a sequence of framed messages (``0xFFFFFFFF``, a 32-bit metadata length, a
flatbuffer ``Message``, then its body). Reading only the frames — the metadata, never the
bodies — tells where each complete message ends, which messages are record batches, how many
rows each has, and whether the end-of-stream marker is there. :class:`StreamTail` keeps one
pyarrow stream reader open per file and lets it read only up to the end of the last complete
record batch, so a file being written is read once, batch by batch, never from its start again.
"""

from __future__ import annotations

import io
import os
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from otlp_arrow.errors import StorageError
from otlp_arrow.storage import fs
from otlp_arrow.storage.layout import SEALED_SUFFIX

_CONTINUATION = 0xFFFFFFFF
_RECORD_BATCH = 3  # MessageHeader union: 1 Schema, 2 DictionaryBatch, 3 RecordBatch


@dataclass
class Frames:
    """What the frames of a stream file up to ``offset`` say."""

    offset: int = 0  # end of the last complete message seen
    rows: int = 0  # rows in the complete record batches
    batches: int = 0
    batch_end: int = 0  # end of the last complete record batch
    ended: bool = False  # the end-of-stream marker was seen


def scan(handle: BinaryIO, frames: Frames) -> Frames:
    """Continue ``frames`` over the complete messages ``handle`` holds now (reads metadata only)."""
    size = os.fstat(handle.fileno()).st_size
    out = Frames(**vars(frames))
    while not out.ended and out.offset + 8 <= size:
        handle.seek(out.offset)
        continuation, length = struct.unpack("<Ii", handle.read(8))
        if continuation != _CONTINUATION or length < 0:
            raise StorageError(f"{handle.name}: not an Arrow IPC stream at byte {out.offset}")
        if length == 0:
            out.offset += 8
            out.ended = True
            break
        if out.offset + 8 + length > size:
            break
        header, body, rows = _message(handle.read(length))
        end = out.offset + 8 + length + body
        if end > size:
            break
        out.offset = end
        if header == _RECORD_BATCH:
            out.rows += rows
            out.batches += 1
            out.batch_end = end
    return out


def _message(meta: bytes) -> tuple[int, int, int]:
    """(header type, body length, rows) of a flatbuffer ``Message`` (Message.fbs: field 1 the
    header type, 2 the header, 3 the body length; RecordBatch field 0 its length)."""

    def fields(table: int) -> tuple[int, int]:
        vtable = table - struct.unpack_from("<i", meta, table)[0]
        return vtable, struct.unpack_from("<H", meta, vtable)[0]

    def field(table: int, index: int) -> int:
        vtable, vtable_size = fields(table)
        at = 4 + 2 * index
        offset = struct.unpack_from("<H", meta, vtable + at)[0] if at < vtable_size else 0
        return table + offset if offset else 0

    try:
        root = struct.unpack_from("<I", meta, 0)[0]
        where = field(root, 1)
        header = meta[where] if where else 0
        where = field(root, 3)
        body = struct.unpack_from("<q", meta, where)[0] if where else 0
        rows = 0
        where = field(root, 2)
        if header == _RECORD_BATCH and where:
            batch = where + struct.unpack_from("<I", meta, where)[0]
            where = field(batch, 0)
            rows = struct.unpack_from("<q", meta, where)[0] if where else 0
    except (struct.error, IndexError) as exc:
        raise StorageError(f"a malformed Arrow IPC message header: {exc}") from exc
    return header, body, rows


class _Window(io.RawIOBase):
    """The file, readable only up to ``limit``: what the stream reader may see."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.limit = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any, /) -> int:
        view = memoryview(buffer).cast("B")
        room = min(len(view), self.limit - self.handle.tell())
        if room <= 0:
            return 0
        data = self.handle.read(room)
        view[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self.handle.tell()


class StreamTail:
    """Reads the complete batches of one IPC stream file as they are appended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames = Frames()
        self.rows_read = 0  # rows returned by read() so far
        self._handles: tuple[BinaryIO, BinaryIO] | None = None
        self._window: _Window | None = None
        self._reader: pa.ipc.RecordBatchStreamReader | None = None
        self._batches_read = 0

    @property
    def ended(self) -> bool:
        """True once the end-of-stream marker has been read: no more batches will come."""
        return self.frames.ended

    def read(self) -> list[pa.RecordBatch]:
        """The complete batches appended since the last call (none if the file is gone).
        Raises StorageError if the file cannot be read or is not an IPC stream."""
        try:
            if self._handles is None:
                self._handles = (self.path.open("rb", buffering=0), self.path.open("rb"))
                self._window = _Window(self._handles[0])
            self.frames = scan(self._handles[1], self.frames)
            new = self.frames.batches - self._batches_read
            if new <= 0:
                return []
            assert self._window is not None
            self._window.limit = self.frames.batch_end
            if self._reader is None:
                self._reader = pa.ipc.open_stream(self._window)
            batches = [self._reader.read_next_batch() for _ in range(new)]
        except FileNotFoundError:
            return []
        except (OSError, pa.ArrowException) as exc:
            self.close()
            raise StorageError(f"cannot read {self.path}: {exc}", self.path) from exc
        except StorageError:
            self.close()
            raise
        self._batches_read += new
        self.rows_read += sum(batch.num_rows for batch in batches)
        return batches

    def close(self) -> None:
        if self._handles is not None:
            for handle in self._handles:
                handle.close()
        self._handles = self._window = self._reader = None


def parquet_batches(path: Path, skip: int) -> Iterator[pa.RecordBatch]:
    """The rows of the sealed file ``path`` after its first ``skip`` (whole row groups are
    skipped without reading them); nothing if the file is gone."""
    source = fs.open_read(path)
    if source is None:
        return
    with source:
        try:
            parquet = pq.ParquetFile(source)
            for group in range(parquet.num_row_groups):
                rows = parquet.metadata.row_group(group).num_rows
                if skip >= rows:
                    skip -= rows
                    continue
                table = parquet.read_row_group(group)
                if skip:
                    table, skip = table.slice(skip), 0
                yield from table.to_batches()
        except (OSError, pa.ArrowException) as exc:
            raise StorageError(f"cannot read {path}: {exc}", path) from exc


class RowCounter:
    """Rows stored in data files, counted from metadata only: a Parquet file's footer, a
    stream's frames (followed incrementally as it grows). Thread-safe; keeps a small cache."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[Path, Frames] = {}
        self._sealed: dict[Path, int] = {}

    def count(self, path: Path) -> tuple[int, bool]:
        """(rows, ended) of ``path``: ended is True for a sealed file and a stream with its
        end-of-stream marker. (0, True) if the file is gone."""
        with self._lock:
            try:
                if path.suffix == SEALED_SUFFIX:
                    if path not in self._sealed:
                        self._sealed[path] = pq.read_metadata(path).num_rows
                    return self._sealed[path], True
                frames = self._streams.get(path, Frames())
                if not frames.ended:
                    with path.open("rb") as handle:
                        frames = self._streams[path] = scan(handle, frames)
                return frames.rows, frames.ended
            except FileNotFoundError:
                return 0, True
            except (OSError, pa.ArrowException) as exc:
                raise StorageError(f"cannot read {path}: {exc}", path) from exc

    def forget_others(self, paths: set[Path]) -> None:
        """Drop what is cached about files not in ``paths`` (deleted or sealed)."""
        with self._lock:
            for cache in (self._streams, self._sealed):
                for path in [p for p in cache if p not in paths]:
                    del cache[path]

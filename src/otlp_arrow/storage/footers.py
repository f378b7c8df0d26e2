"""What readers keep of sealed Parquet files between queries: their footers, and the row
groups a lookup by id needs, found by the files' Bloom filters.

A sealed file is never rewritten (compaction writes a new one and deletes its inputs), so a
footer read once stays true while the file has the same path, size and time; over object
storage that saves a GET per object and query (16 to 42 ms each on moto). Footers are kept as
pyarrow fragments with their metadata loaded, so scanning one reads no footer again.

pyarrow writes a Bloom filter on ``trace_id`` (``parquet_format.BLOOM_COLUMNS``) but does not
read them: random ids defeat min/max statistics, so without the filters a trace lookup decodes
every row group. For a lookup, :meth:`FooterCache.fragments` reads a file's tail once
(footer, page indexes and Bloom filters are written last, together; a filter outside it is
read with one more ranged read), keeps footer and filters, and keeps only the row groups whose
filter may hold the value (Parquet's split-block Bloom filter over XXH64; format spec,
BloomFilter.md). A file without filters, or with one this code does not understand, keeps
every row group: pruning can only skip reading, never change an answer.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import xxhash

log = logging.getLogger(__name__)

#: What the cache may hold: footers and filters of ~500 M spans' worth of files.
DEFAULT_LIMIT_BYTES = 64 * 2**20
#: Files whose footers or filters are read at once (over S3 each is one GET).
PARALLEL_READS = 8
#: What a lookup reads of a file's end at once: its footer, page indexes and Bloom filters
#: (written last, together) in one GET; ~700 KiB for a file of 200,000 spans.
TAIL_BYTES = 2**20
#: The split-block Bloom filter's salts (Parquet format, BloomFilter.md).
_SALTS: tuple[int, ...] = (0x47B6137B, 0x44974D91, 0x8824AD5B, 0xA2B7289D, 0x705495C7)
_SALTS += (0x2DF1424B, 0x9EFC4947, 0x5C6BFB31)
_BLOCK = 32  # bytes per block: eight 32-bit words


@dataclass(frozen=True)
class ParquetFile:
    """One sealed file as listed: its path for ``filesystem``, size, and modification time."""

    path: str
    size: int
    mtime: float


@dataclass
class _Entry:
    key: tuple[str, int, float]
    meta: pq.FileMetaData
    #: per column: the bitset of each row group's filter (None: that group has none)
    filters: dict[str, list[bytes | None]] = field(default_factory=dict)
    #: the file as pyarrow scans it, its footer loaded (made when first scanned)
    fragment: ds.ParquetFileFragment | None = None
    bytes: int = 0


class FooterCache:
    """Footers and Bloom filters of immutable Parquet files, least recently used dropped past
    ``limit_bytes``; safe to share between threads."""

    def __init__(self, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, int, float], _Entry] = OrderedDict()
        self._held = 0

    @property
    def held_bytes(self) -> int:
        return self._held

    def fragments(
        self,
        files: Sequence[ParquetFile],
        filesystem: pafs.FileSystem,
        where: tuple[str, bytes] | None = None,
    ) -> list[ds.ParquetFileFragment]:
        """A fragment per file with its footer loaded; with ``where=(column, value)`` only
        the row groups that may hold ``value`` in ``column`` (files with none left out)."""
        column = None if where is None else where[0]
        digest = None if where is None else xxhash.xxh64_intdigest(where[1])

        def one(file: ParquetFile) -> ds.ParquetFileFragment | None:
            entry = self._entry(file, filesystem, column)
            chosen = None
            if column is not None and digest is not None:  # (both set, or neither)
                chosen = self._groups(entry, file, filesystem, column, digest)
                if chosen == []:
                    return None  # nothing of this file is read
            whole = self._fragment(entry, file, filesystem)
            return whole if chosen is None else whole.subset(row_group_ids=chosen)

        with ThreadPoolExecutor(PARALLEL_READS) as pool:
            return [f for f in pool.map(one, files) if f is not None]

    def _entry(self, file: ParquetFile, filesystem: pafs.FileSystem, column: str | None) -> _Entry:
        """The file's cached entry, or a new one: for a lookup (``column``) from one read of
        the file's tail (footer, page indexes and Bloom filters are written last, together),
        else from pyarrow's own footer reading (the fragment that scans)."""
        key = (file.path, file.size, file.mtime)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
        start, tail = _tail(file, filesystem) if column is not None else (file.size, b"")
        meta = _footer(tail)
        if meta is None:  # not read, or not understood: pyarrow reads it (and names errors)
            fragment = _scan_fragment(file, filesystem)
            entry = _Entry(key, fragment.metadata, fragment=fragment)
        else:
            entry = _Entry(key, meta)
        if column is not None:
            entry.filters[column] = _read_filters(entry.meta, file, filesystem, column, start, tail)
        self._hold(entry, _size(entry), new=True)
        return entry

    def _fragment(
        self, entry: _Entry, file: ParquetFile, filesystem: pafs.FileSystem
    ) -> ds.ParquetFileFragment:
        if entry.fragment is None:
            entry.fragment = _scan_fragment(file, filesystem)
            self._hold(entry, entry.meta.serialized_size, new=False)
        return entry.fragment

    def _groups(
        self,
        entry: _Entry,
        file: ParquetFile,
        filesystem: pafs.FileSystem,
        column: str,
        digest: int,
    ) -> list[int] | None:
        """The row groups whose filter on ``column`` may hold the value hashed to ``digest``
        (None: keep the whole file, it has no usable filters)."""
        filters = entry.filters.get(column)
        if filters is None:
            filters = _read_filters(entry.meta, file, filesystem, column, file.size, b"")
            entry.filters[column] = filters
            self._hold(entry, sum(len(f) for f in filters if f is not None), new=False)
        if all(f is None for f in filters):
            return None
        return [g for g, f in enumerate(filters) if f is None or may_contain(f, digest)]

    def _hold(self, entry: _Entry, size: int, *, new: bool) -> None:
        """Count ``size`` more bytes for ``entry`` (added if ``new``), dropping the least
        recently used entries past the limit."""
        with self._lock:
            held = self._entries.get(entry.key)
            if new and held is None:
                self._entries[entry.key] = entry
            elif held is not entry:  # already there (new), or dropped meanwhile: not held
                return
            entry.bytes += size
            self._held += size
            while self._held > self.limit_bytes and len(self._entries) > 1:
                _, dropped = self._entries.popitem(last=False)
                self._held -= dropped.bytes


def _size(entry: _Entry) -> int:
    footers: int = entry.meta.serialized_size * (2 if entry.fragment is not None else 1)
    return footers + sum(len(f) for fs in entry.filters.values() for f in fs if f is not None)


def _scan_fragment(file: ParquetFile, filesystem: pafs.FileSystem) -> ds.ParquetFileFragment:
    fragment = ds.ParquetFileFormat().make_fragment(file.path, filesystem, file_size=file.size)
    fragment.ensure_complete_metadata()  # pyarrow reads the footer
    return fragment


def _tail(file: ParquetFile, filesystem: pafs.FileSystem) -> tuple[int, bytes]:
    """Where the file's last TAIL_BYTES start, and those bytes (more if its footer is longer)."""
    start = max(0, file.size - TAIL_BYTES)
    with filesystem.open_input_file(file.path) as source:
        tail = source.read_at(file.size - start, start)
        footer = _footer_length(tail)
        if footer is not None and footer + 8 > len(tail) and footer + 8 <= file.size:
            start = file.size - footer - 8
            tail = source.read_at(footer + 8, start)
    return start, tail


def _footer_length(tail: bytes) -> int | None:
    if len(tail) < 12 or tail[-4:] != b"PAR1":
        return None
    return int.from_bytes(tail[-8:-4], "little")


def _footer(tail: bytes) -> pq.FileMetaData | None:
    """The file's metadata from its last bytes (None unless all of it is there)."""
    length = _footer_length(tail)
    if length is None or length + 8 > len(tail):
        return None
    footer = b"PAR1" + tail[len(tail) - length - 8 :]  # the smallest file with this footer
    try:
        return pq.read_metadata(pa.BufferReader(footer))
    except (pa.ArrowException, OSError):
        return None


def _read_filters(
    meta: pq.FileMetaData,
    file: ParquetFile,
    filesystem: pafs.FileSystem,
    column: str,
    start: int,
    tail: bytes,
) -> list[bytes | None]:
    """Each row group's Bloom filter bitset on ``column`` (None where there is none), from
    ``tail`` (the file's bytes from ``start``) when it holds them, else one ranged read."""
    index = next((i for i in range(meta.num_columns) if meta.schema.column(i).path == column), None)
    if index is None:
        return [None] * meta.num_row_groups
    spans: list[tuple[int, int] | None] = []
    for g in range(meta.num_row_groups):
        chunk = meta.row_group(g).column(index)
        offset = getattr(chunk, "bloom_filter_offset", None)  # pyarrow >= 26
        length = getattr(chunk, "bloom_filter_length", None)
        spans.append((offset, length) if offset and length and length > 0 else None)
    present = [s for s in spans if s is not None]
    if not present:
        return [None] * meta.num_row_groups
    first = min(offset for offset, _ in present)
    end = max(offset + length for offset, length in present)
    if start <= first and end <= start + len(tail):
        block = tail[first - start : end - start]
    else:
        try:
            with filesystem.open_input_file(file.path) as source:
                block = source.read_at(end - first, first)  # one ranged read per file
        except OSError as exc:  # vanished or unreadable: the scan that follows says so
            log.debug("Bloom filters of %s not read: %s", file.path, exc)
            return [None] * meta.num_row_groups
    return [None if s is None else bitset(block[s[0] - first : s[0] - first + s[1]]) for s in spans]


def bitset(data: bytes) -> bytes | None:
    """The bitset of a serialized Bloom filter (its Thrift BloomFilterHeader, then the bits);
    None unless it is a well-formed split-block filter."""
    size = _header_num_bytes(data)
    if size is None or size <= 0 or size % _BLOCK or size > len(data) - 1:
        return None
    return bytes(data[len(data) - size :])


def may_contain(bits: bytes, digest: int) -> bool:
    """The split-block Bloom filter check: False means the hashed value is not in the set."""
    block = (((digest >> 32) * (len(bits) // _BLOCK)) >> 32) * _BLOCK
    key = digest & 0xFFFFFFFF
    for i, salt in enumerate(_SALTS):
        word = int.from_bytes(bits[block + 4 * i : block + 4 * i + 4], "little")
        if not word >> (((key * salt) & 0xFFFFFFFF) >> 27) & 1:
            return False
    return True


def _header_num_bytes(data: bytes) -> int | None:
    """numBytes, the header's first field (Thrift compact: 0x15 = field 1, i32; a zigzag
    varint)."""
    if len(data) < 2 or data[0] != 0x15:
        return None
    value = shift = 0
    for byte in data[1:6]:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1)
    return None


def files_of(infos: Sequence[Any], path_of: Any = str) -> list[ParquetFile]:
    """``ParquetFile`` items from listed ``FileInfo``s, the path given by ``path_of``."""
    return [ParquetFile(path_of(info.path), info.size, info.mtime) for info in infos]

"""Read stored batches back: sealed Parquet files, and IPC stream files including those still
being written or cut off by a crash."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from otlp_arrow.schema import Signal, schema_for
from otlp_arrow.storage import compact, fs
from otlp_arrow.storage.layout import (
    DATA_SUFFIXES,
    SEALED_SUFFIX,
    sealed_path,
    without_sealed_duplicates,
)
from otlp_arrow.storage.objects import is_uri

log = logging.getLogger(__name__)


def count_rows(path: Path) -> int:
    """The rows of one data file (a Parquet file's footer says; a stream is read); 0 if gone."""
    if path.suffix == SEALED_SUFFIX:
        try:
            return int(pq.read_metadata(path).num_rows)
        except (OSError, pa.ArrowException):
            return 0
    return sum(batch.num_rows for batch in read_file(path))


def read_file(path: Path) -> Iterator[pa.RecordBatch]:
    """Every complete batch of one data file. An IPC stream file without its end-of-stream
    marker (still being written, or its writer was killed) yields the batches before its cut;
    a sealed Parquet file yields its row groups."""
    if path.suffix == SEALED_SUFFIX:
        yield from _read_parquet(path)
        return
    source = fs.open_read(path)
    if source is None:  # sealed since it was listed: the Parquet copy is in place before the
        yield from _read_parquet(sealed_path(path))  # stream goes (or retention took both)
        return
    with source:
        try:
            reader = pa.ipc.open_stream(source)
        except (pa.ArrowInvalid, OSError):
            log.debug("skipping %s: no complete schema yet", path)
            return
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, OSError) as exc:
                log.debug("stopping at an incomplete batch in %s: %s", path, exc)
                return
            yield batch


def _read_parquet(path: Path) -> Iterator[pa.RecordBatch]:
    source = fs.open_read(path)
    if source is None:
        return
    with source:
        parquet = pq.ParquetFile(source)
        for group in range(parquet.num_row_groups):
            yield from parquet.read_row_group(group).to_batches()


def signal_files(output_dir: Path | str, signal: str) -> list[fs.FileInfo]:
    """The signal's data files (sealed and live), oldest first; without the stream files
    whose Parquet copy is there and the sealed files whose rows a merged file holds
    (``storage.compact``): each row once."""
    schema_for(signal)  # validates the name
    files = fs.list_files(Path(output_dir) / signal, DATA_SUFFIXES)
    keep = set(without_sealed_duplicates([f.path for f in files]))
    keep -= compact.covered(sorted(keep))
    return [f for f in files if f.path in keep]


def iter_batches(output_dir: Path | str, signal: str) -> Iterator[pa.RecordBatch]:
    """Every complete batch of ``signal`` under ``output_dir``, oldest file first."""
    for info in signal_files(output_dir, signal):
        yield from read_file(info.path)


def read_table(output_dir: Path | str, signal: str) -> pa.Table:
    """All complete batches of ``signal`` under ``output_dir`` as one ``pyarrow.Table``
    (empty, with the signal's schema, when nothing is stored yet). ``s3://bucket/prefix``:
    the bucket and this machine's default spool of it, each row once (``query.connect``)."""
    if is_uri(output_dir):
        from otlp_arrow.storage.sources import Sources  # it lists with this module

        sources = Sources(output_dir)
        listing = sources.files(signal)
        local = [batch for info in listing.local for batch in read_file(info.path)]
        tables = [pa.Table.from_batches(local, schema=schema_for(signal))]
        remote = sources.sealed_dataset(listing.remote, schema_for(signal), remote=True)
        return pa.concat_tables(tables if remote is None else [remote.to_table(), *tables])
    return pa.Table.from_batches(list(iter_batches(output_dir, signal)), schema=schema_for(signal))


def follow(
    output_dir: Path | Sequence[Path], signals: tuple[Signal, ...], poll_s: float
) -> Iterator[tuple[Signal, pa.RecordBatch]]:
    """The batches written under ``output_dir`` (or several such directories: a spool and its
    workers') from now on, polling every ``poll_s``; what
    is there already is skipped (stock is taken before this returns). A file is read again
    only when its size changed; a file sealed as Parquet is known by its name (the stream's
    stem), so its rows are not shown twice, nor are those of a compacted file whose inputs were
    followed."""
    seen: dict[Path, tuple[int, int]] = {}  # path without suffix -> (size, rows shown)
    roots = [output_dir] if isinstance(output_dir, Path) else list(output_dir)

    def scan(emit: bool) -> Iterator[tuple[Signal, pa.RecordBatch]]:
        for signal in signals:
            for info in (i for root in roots for i in signal_files(root, signal)):
                key = info.path.with_suffix("")
                size, shown = seen.get(key, (-1, 0))
                if info.size == size:
                    continue
                if key not in seen and _merges_seen(info.path, seen):
                    shown = count_rows(info.path)  # compacted: its inputs' rows were shown
                rows = pa.Table.from_batches(list(read_file(info.path)), schema_for(signal))
                seen[key] = (info.size, max(shown, rows.num_rows))
                if emit and rows.num_rows > shown:
                    yield from ((signal, b) for b in rows.slice(shown).to_batches())

    def forever() -> Iterator[tuple[Signal, pa.RecordBatch]]:
        while True:
            yield from scan(emit=True)
            time.sleep(poll_s)

    for _ in scan(emit=False):
        pass
    return forever()


def _merges_seen(path: Path, seen: dict[Path, tuple[int, int]]) -> bool:
    """True if ``path`` is a merged file (``storage.compact``) of files already followed."""
    names = compact.inputs_of(path) if compact.is_merged(path) else frozenset()
    return any((path.parent / name).with_suffix("") in seen for name in names)

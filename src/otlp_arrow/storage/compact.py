"""Compaction: the small sealed Parquet files of one partition merged into files sized for scans,
their rows sorted by ``parquet_format.SORT_KEYS``.

How it stays exact while readers and other processes run (docs/storage.md, "Compaction"):

- A merged file is written under a hidden temporary name that its compactor holds locked
  (``storage.locks``), checked (row count), and renamed into place atomically. Its name is its
  oldest input's stem plus ``.c<token>`` and its footer names its inputs (key
  :data:`INPUTS_KEY`, inputs of merged inputs included while they exist).
- Readers (``reader.signal_files``) skip every file named by a merged file present in the same
  directory: before the rename they see the inputs only, after it the merged file only. So the
  moment between the rename and the deletion of the inputs, and a crash anywhere in it, show
  every row once. The inputs are deleted ``grace_s`` after the rename (by a later pass), so a
  reader that listed the directory just before the rename can still read them.
- A compactor claims the lock of every input before merging, and checks again once it holds
  them that no merged file names them: two compactors never merge the same file, and retention
  or a sealer never deletes one under it. A killed compactor leaves only its temporary file,
  which nobody holds, and which the next pass (or the sealer at start) deletes.
- With forwarding on, only files the forwarder has sent are merged, and only when the merged
  name sorts where the forwarder's cursor counts it sent too (a cursor counts rows per file).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from otlp_arrow.errors import StorageError
from otlp_arrow.schema import SIGNALS, as_signal
from otlp_arrow.storage import fs, locks
from otlp_arrow.storage import parquet_format as fmt
from otlp_arrow.storage.fs import FileInfo
from otlp_arrow.storage.layout import SEALED_SUFFIX
from otlp_arrow.storage.retention import Guard

log = logging.getLogger(__name__)

#: The footer key of a merged file: a JSON list of the file names it holds the rows of.
INPUTS_KEY = b"otlp_arrow.compacted_from"
#: Seconds between two compaction passes of the service.
INTERVAL_S = 300.0
#: Seconds between the rename of a merged file and the deletion of its inputs.
GRACE_S = 60.0
#: Most Arrow bytes (uncompressed, as the footers say) merged at once: a merge is in memory.
MAX_MERGE_BYTES = 1024 * 1024 * 1024
_MARK = ".c"


@dataclass
class CompactStats:
    files_merged: int = 0  # input files merged
    files_written: int = 0  # merged files written
    inputs_deleted: int = 0
    rows: int = 0


def is_merged(path: Path) -> bool:
    """True for a file written by compaction (its stem carries the ``.c<token>`` mark)."""
    return path.suffix == SEALED_SUFFIX and _MARK in path.stem


def inputs_of(path: Path) -> frozenset[str]:
    """The file names (same directory) whose rows the merged file ``path`` holds; empty if it
    is gone."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return frozenset()
    key = (path, stat.st_size, stat.st_mtime_ns)
    if (known := known_inputs(key)) is not None:
        return known
    try:
        metadata = pq.read_metadata(path).metadata
    except FileNotFoundError:
        return frozenset()
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(f"cannot read the footer of {path}: {exc}", path) from exc
    return remember_inputs(key, metadata)


def remember_inputs(key: tuple[object, ...], metadata: dict[bytes, bytes] | None) -> frozenset[str]:
    """The input names a merged file's footer ``metadata`` gives, kept under ``key`` (the
    file's path, size and time: a file is never rewritten) for :func:`known_inputs`."""
    names = frozenset(json.loads((metadata or {}).get(INPUTS_KEY, b"[]")))
    with _cache_lock:
        if len(_inputs_cache) > 4096:
            _inputs_cache.clear()
        _inputs_cache[key] = names
    return names


def known_inputs(key: tuple[object, ...]) -> frozenset[str] | None:
    """What :func:`remember_inputs` kept under ``key``; None if nothing."""
    with _cache_lock:
        return _inputs_cache.get(key)


_inputs_cache: dict[tuple[object, ...], frozenset[str]] = {}
_cache_lock = threading.Lock()


def covered(paths: Sequence[Path]) -> set[Path]:
    """The paths among ``paths`` whose rows a merged file among ``paths`` holds."""
    present = set(paths)
    out: set[Path] = set()
    for path in paths:
        if is_merged(path):
            out.update(p for n in inputs_of(path) if (p := path.parent / n) in present)
    return out


def compact_signal(
    signal_dir: Path,
    *,
    now: float | None = None,
    settle_s: float | None = 0.0,
    grace_s: float = GRACE_S,
    guard: Guard | None = None,
) -> CompactStats:
    """Compact every partition of ``signal_dir`` whose hour ended ``settle_s`` ago (None: also
    the current hour's); delete the inputs of merged files older than ``grace_s``."""
    signal = as_signal(signal_dir.name)
    now = time.time() if now is None else now
    stats = CompactStats()
    if is_iceberg_table(signal_dir):
        log.info(
            "%s holds an Apache Iceberg table: its files are compacted by the table's engine "
            "(e.g. Spark's rewrite_data_files), not here",
            signal_dir,
        )
        return stats
    files = fs.list_files(signal_dir, SEALED_SUFFIX)
    by_dir: dict[Path, list[FileInfo]] = {}
    for info in files:
        by_dir.setdefault(info.path.parent, []).append(info)
    for directory, infos in by_dir.items():
        _delete_inputs(infos, now, grace_s, signal_dir, stats)
        if settle_s is None or settled(directory, now, settle_s):
            _compact_dir(signal, directory, signal_dir, guard, grace_s, stats)
    _clean_temporaries(signal_dir)
    return stats


def is_iceberg_table(signal_dir: Path) -> bool:
    """True if ``signal_dir`` is the location of an Iceberg table (``iceberg_catalog``): its
    ``metadata/`` beside the partitions. Merging its files here would delete files that the
    table's snapshots name."""
    return (signal_dir / "metadata").is_dir()


def compact_all(output_dir: Path, **options: object) -> dict[str, CompactStats]:
    """:func:`compact_signal` for every signal under ``output_dir``."""
    return {s: compact_signal(output_dir / s, **options) for s in SIGNALS}  # type: ignore[arg-type]


def settled(directory: Path, now: float, settle_s: float) -> bool:
    """True when the partition ``date=…/hour=…`` ended at least ``settle_s`` before ``now``
    (a directory of another shape always is)."""
    try:
        date = directory.parent.name.removeprefix("date=")
        hour = directory.name.removeprefix("hour=")
        start = datetime.strptime(f"{date} {hour}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    except ValueError:
        return True
    return start.timestamp() + 3600 + settle_s <= now


def _delete_inputs(
    infos: list[FileInfo], now: float, grace_s: float, stop: Path, stats: CompactStats
) -> None:
    present = {i.path: i for i in infos}
    for info in infos:
        if not is_merged(info.path) or info.mtime + grace_s > now:
            continue
        for name in inputs_of(info.path):
            path = info.path.parent / name
            if path in present and locks.remove_if_free(path, stop):
                stats.inputs_deleted += 1


def _compact_dir(
    signal: str,
    directory: Path,
    stop: Path,
    guard: Guard | None,
    grace_s: float,
    stats: CompactStats,
) -> None:
    infos = fs.list_files(directory, SEALED_SUFFIX)
    skip = covered([i.path for i in infos])
    if guard is not None:
        skip |= set(guard.unforwarded(signal, infos))
    small = [i for i in infos if i.path not in skip and i.size < fmt.SMALL_FILE_BYTES]
    for group in groups(small):
        _merge(signal, group, stop, guard, grace_s, stats)


def groups(files: list[FileInfo]) -> list[list[FileInfo]]:
    """``files`` in name order cut into groups of at most TARGET_FILE_BYTES; groups of one
    file are left alone."""
    groups: list[list[FileInfo]] = [[]]
    for info in files:
        if groups[-1] and sum(i.size for i in groups[-1]) + info.size > fmt.TARGET_FILE_BYTES:
            groups.append([])
        groups[-1].append(info)
    return [g for g in groups if len(g) > 1]


def merged_path(inputs: Sequence[Path]) -> Path:
    """The name of the file merging ``inputs``: the oldest base stem, marked, with a token."""
    base = min(p.stem.split(_MARK)[0] for p in inputs)
    return inputs[0].parent / f"{base}{_MARK}{secrets.token_hex(4)}{SEALED_SUFFIX}"


def _merge(
    signal: str,
    group: list[FileInfo],
    stop: Path,
    guard: Guard | None,
    grace_s: float,
    stats: CompactStats,
) -> None:
    with contextlib.ExitStack() as claims:
        owned = [i for i in group if claims.enter_context(locks.Claim(i.path))]
        again = covered([i.path for i in fs.list_files(group[0].path.parent, SEALED_SUFFIX)])
        owned, _ = within_memory([i for i in owned if i.path not in again])
        if len(owned) < 2:
            return
        target = merged_path([i.path for i in owned])
        if guard is not None and guard.unforwarded(signal, [FileInfo(target, 0, 0.0)]):
            return  # the forwarder would count the merged file as new: wait until it is past
        try:
            rows = _write_merged(signal, [i.path for i in owned], target, stop)
        except (OSError, pa.ArrowException) as exc:
            raise StorageError(f"cannot compact into {target}: {exc}", target) from exc
        stats.files_merged += len(owned)
        stats.files_written += 1
        stats.rows += rows
        if grace_s <= 0:
            for info in owned:
                if fs.remove(info.path, stop=stop):
                    stats.inputs_deleted += 1
    log.info("compacted %d files (%d rows) into %s", len(owned), rows, target)


def within_memory(
    files: Sequence[FileInfo], metadata_of: Callable[[FileInfo], pq.FileMetaData] | None = None
) -> tuple[list[FileInfo], int]:
    """The first of ``files`` whose rows fit in MAX_MERGE_BYTES of Arrow data together (as
    their footers say; ``metadata_of`` reads one, by default from the local file), and how
    many of ``files`` that took (unreadable ones, gone or damaged, are left out)."""
    read = metadata_of or (lambda info: pq.read_metadata(info.path))
    kept: list[FileInfo] = []
    total = 0
    for taken, info in enumerate(files):
        try:
            metadata = read(info)
        except (OSError, pa.ArrowException) as exc:  # gone, or damaged: left as it is
            log.debug("not compacting %s: %s", info.path, exc)
            continue
        size = sum(metadata.row_group(g).total_byte_size for g in range(metadata.num_row_groups))
        if kept and total + size > MAX_MERGE_BYTES:
            return kept, taken
        kept.append(info)
        total += size
    return kept, len(files)


def merged_table(signal: str, tables: list[pa.Table], names: set[str]) -> pa.Table:
    """The rows of ``tables`` in one table sorted by the signal's keys, its schema naming
    ``names`` (the inputs) under :data:`INPUTS_KEY`."""
    table = fmt.sort_rows(pa.concat_tables(tables, promote_options="default"), signal)
    metadata = dict(table.schema.metadata or {})
    metadata[INPUTS_KEY] = json.dumps(sorted(names)).encode()
    return table.replace_schema_metadata(metadata)


def _write_merged(signal: str, inputs: list[Path], target: Path, stop: Path) -> int:
    names = {p.name for p in inputs}
    for path in inputs:
        names |= {n for n in inputs_of(path) if (path.parent / n).exists()}
    table = merged_table(signal, [pq.read_table(p) for p in inputs], names)
    tmp = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        with locks.create_held(tmp) as sink:
            fmt.write_table(sink, table, signal, fmt.COMPACT_ZSTD_LEVEL)
        written = pq.ParquetFile(tmp).metadata.num_rows
        if written != table.num_rows:  # pragma: no cover - a defect of the Parquet writer
            raise StorageError(f"compacting: wrote {written} of {table.num_rows} rows", target)
        fs.replace(tmp, target)
    finally:
        with contextlib.suppress(StorageError):
            fs.remove(tmp, stop=stop)
    return int(table.num_rows)


def _clean_temporaries(signal_dir: Path) -> None:
    """Delete the temporary files of killed compactors, and the staging files of those
    killed while creating one (nobody holds either)."""
    locks.remove_abandoned(signal_dir, keep=lambda path: _MARK not in path.name)


class Compactor:
    """Compacts ``output_dir`` every ``interval_s`` on its own thread (the service's)."""

    def __init__(
        self, output_dir: Path, interval_s: float, guard: Guard | None = None, **options: object
    ) -> None:
        self.output_dir = output_dir
        self.interval_s = interval_s
        self.guard = guard
        self.options = options
        self.passes = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="otlp-arrow-compactor", daemon=True)

    def start(self) -> Compactor:
        self._thread.start()
        return self

    def run_once(self) -> None:
        for signal in SIGNALS:
            try:
                self.compact(signal)
            except StorageError as exc:
                self.errors += 1
                log.warning("%s; the files stay readable as they are", exc)
        self.passes += 1

    def compact(self, signal: str) -> None:
        """One signal's pass (``compact_remote.BucketCompactor``: over a bucket)."""
        compact_signal(self.output_dir / signal, guard=self.guard, **self.options)  # type: ignore[arg-type]

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.run_once()

    def close(self) -> None:
        """Stop after the pass under way, if any (also when never started)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

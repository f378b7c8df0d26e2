"""Compaction of an object-store output (``s3://…`` without Iceberg): the small objects of a
partition merged into sorted objects sized for scans, by the rules of ``storage.compact``
with what a bucket offers instead of a local file system (docs/storage.md, "Compaction").

- **Names and readers, as on disk.** A merged object is named after its oldest input plus
  ``.c<token>``, its footer names its inputs (``compact.INPUTS_KEY``), and readers
  (``storage.sources``) skip every object a merged object present names. An object is visible
  whole or not at all (a PUT), so there is no temporary name: the merged file is written in the
  local ``scratch`` directory (the spool), checked (row count), and uploaded. Its inputs are
  deleted ``grace_s`` after it appeared (by a later pass), so a reader that listed the
  partition just before can still read them.
- **One compactor per partition, without coordination.** There are no file locks across
  machines, so a compactor first puts a *lease*, ``<partition>/.compacting-<token>``, and lists
  the partition's leases (S3 lists are strongly consistent): if another one is there that is
  not older than ``lease_s`` by S3's own clock (its last-modified time against our lease's),
  ours is withdrawn and the partition is left to the other; two leases put in the same second
  both withdraw (and try again next pass). A compactor whose work outlasts half its lease
  does not upload (the lease may be taken over by then). A killed compactor leaves its lease,
  which blocks the partition until it expires, and nothing visible to readers.
- With forwarding on, only objects the forwarder has sent are merged (as on disk).
"""

from __future__ import annotations

import contextlib
import logging
import random
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from otlp_arrow.errors import StorageError
from otlp_arrow.schema import as_signal
from otlp_arrow.storage import compact, fs
from otlp_arrow.storage import parquet_format as fmt
from otlp_arrow.storage.fs import FileInfo
from otlp_arrow.storage.layout import SEALED_SUFFIX
from otlp_arrow.storage.objects import Bucket
from otlp_arrow.storage.retention import Guard

log = logging.getLogger(__name__)

#: The name of a lease object starts so (hidden: readers and listings skip it).
LEASE_PREFIX = ".compacting-"
#: Seconds a lease holds a partition (a merge of MAX_MERGE_BYTES takes well under half).
LEASE_S = 900.0
_clock = time.monotonic  # the one clock for "uploaded within half the lease" (tests stop it)
#: Tries at a partition whose lease tied with another's (put in the same second).
TIE_ATTEMPTS = 3


@dataclass
class CompactStats(compact.CompactStats):
    partitions_leased: int = 0  # worked on under a lease
    partitions_busy: int = 0  # left to another compactor's lease


def covered(bucket: Bucket, objects: Sequence[FileInfo]) -> set[Path]:
    """The keys among ``objects`` (listed by ``Bucket.list_files``) whose rows a merged object
    among them holds: what readers skip.

    A merged object's footer (one GET, then kept) is read only while one of its inputs may
    be listed: inputs are always small, and a merged input is older than what merged it, so
    a partition holding a small object that is not merged, or a small merged one not newer
    than it. Once the inputs are deleted, a partition of merged objects costs no request."""
    by_dir: dict[Path, list[FileInfo]] = {}
    for info in objects:
        by_dir.setdefault(info.path.parent, []).append(info)
    out: set[Path] = set()
    for infos in by_dir.values():
        present = {info.path for info in infos}
        small = [info for info in infos if info.size < fmt.SMALL_FILE_BYTES]
        for merged in infos:
            if not compact.is_merged(merged.path) or not any(
                o.path != merged.path and (not compact.is_merged(o.path) or o.mtime <= merged.mtime)
                for o in small
            ):
                continue
            parent = merged.path.parent
            out.update(p for n in inputs_of(bucket, merged) if (p := parent / n) in present)
    return out


def inputs_of(bucket: Bucket, info: FileInfo) -> frozenset[str]:
    """The names of the objects (same partition) merged into the object ``info``; empty if
    it is gone."""
    key = (bucket.uri, info.path, info.size, info.mtime)
    if (known := compact.known_inputs(key)) is not None:
        return known
    path = bucket.path(info.path.as_posix())
    try:
        with bucket.filesystem.open_input_file(path) as source:
            metadata = pq.ParquetFile(source).metadata.metadata
    except FileNotFoundError:
        return frozenset()
    except (OSError, pa.ArrowException) as exc:
        where = bucket.url(info.path.as_posix())
        raise StorageError(f"cannot read the footer of {where}: {exc}") from exc
    return compact.remember_inputs(key, metadata)


def compact_signal(
    bucket: Bucket,
    signal: str,
    scratch: Path,
    *,
    now: float | None = None,
    settle_s: float | None = 0.0,
    grace_s: float = compact.GRACE_S,
    lease_s: float = LEASE_S,
    small_bytes: int = fmt.SMALL_FILE_BYTES,
    guard: Guard | None = None,
) -> CompactStats:
    """Compact every partition of ``signal`` in ``bucket`` whose hour ended ``settle_s`` ago
    (None: also the current hour's), each under a lease; delete the inputs of merged objects
    older than ``grace_s``. ``scratch`` is a local directory for the merged file. Objects
    below ``small_bytes`` are merged (at most ``SMALL_FILE_BYTES``: readers rely on it)."""
    signal = as_signal(signal)
    small_bytes = min(small_bytes, fmt.SMALL_FILE_BYTES)
    now = time.time() if now is None else now
    stats = CompactStats()
    if is_iceberg_table(bucket, signal):
        log.info("%s holds an Apache Iceberg table: left to the table's engine", bucket.url(signal))
        return stats
    _clean_scratch(scratch, now - lease_s)
    by_dir: dict[Path, list[FileInfo]] = {}
    for info in bucket.list_files(signal, SEALED_SUFFIX):
        by_dir.setdefault(info.path.parent, []).append(info)
    for directory, listed in by_dir.items():
        if settle_s is not None and not compact.settled(directory, now, settle_s):
            continue
        if not _inputs_due(bucket, listed, now, grace_s) and not _groups_due(
            bucket, signal, listed, small_bytes, guard
        ):
            continue  # nothing to do there: no lease, no requests
        for attempt in range(TIE_ATTEMPTS):
            with _lease(bucket, directory.as_posix(), lease_s) as held:
                if isinstance(held, float):
                    stats.partitions_leased += 1
                    infos = bucket.list_files(directory.as_posix(), SEALED_SUFFIX)  # again
                    for key in _inputs_due(bucket, infos, now, grace_s):
                        stats.inputs_deleted += bucket.delete(key.as_posix())
                    for group, key in _groups_due(bucket, signal, infos, small_bytes, guard):
                        chunks = _chunks(bucket, signal, group, key, guard)
                        for chunk, target in chunks:
                            _merge(
                                bucket, signal, chunk, infos, target, scratch, held, grace_s, stats
                            )
                    break
            if held == "busy" or attempt == TIE_ATTEMPTS - 1:
                stats.partitions_busy += 1
                break
            time.sleep(random.uniform(1.0, 3.0))  # a tie: both withdrew; try again apart
    return stats


def _clean_scratch(scratch: Path, before: float) -> None:
    """Delete the merged files that killed compactors left in ``scratch`` (older than any
    live merge can be: the lease's length)."""
    for info in fs.list_files(scratch, ".tmp", hidden=True):
        if info.mtime < before:
            with contextlib.suppress(StorageError):
                fs.remove(info.path, stop=scratch)


def is_iceberg_table(bucket: Bucket, signal: str) -> bool:
    """True if the signal's prefix is an Iceberg table's location (its ``metadata/`` beside
    the partitions): its snapshots name its files, so they are not merged here."""
    try:
        info = bucket.filesystem.get_file_info(bucket.path(f"{signal}/metadata"))
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(f"cannot look at {bucket.url(signal)}: {exc}") from exc
    return bool(info.type == pafs.FileType.Directory)


@contextlib.contextmanager
def _lease(bucket: Bucket, partition: str, lease_s: float) -> Iterator[float | str]:
    """Hold ``partition`` while the block runs: yields the monotonic time by which the work
    must be uploaded; or ``"busy"`` when an older lease holds it, ``"tie"`` when another was
    put in the same second (see the module docstring)."""
    name = f"{LEASE_PREFIX}{secrets.token_hex(8)}"
    path = bucket.path(f"{partition}/{name}")
    started = _clock()
    try:
        with bucket.filesystem.open_output_stream(path) as sink:
            sink.write(f"compacting since {time.time():.0f}\n".encode())
        leases = _leases(bucket, partition)
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(f"cannot take a lease on {bucket.url(partition)}: {exc}") from exc
    try:
        mine = leases.pop(name, None)
        if mine is None:  # pragma: no cover - S3 lists what was put (strong consistency)
            yield "tie"
            return
        for other, when in leases.items():
            if when <= mine - lease_s:  # expired: a killed compactor's
                log.info("lease %s on %s expired; taking over", other, bucket.url(partition))
                with contextlib.suppress(StorageError):
                    bucket.delete(f"{partition}/{other}")
        # later leases defer to ours; an earlier live one holds the partition
        earlier = [t for t in leases.values() if mine - lease_s < t <= mine]
        if not earlier:
            yield started + lease_s / 2
        else:
            yield "tie" if max(earlier) == mine else "busy"
    finally:
        with contextlib.suppress(StorageError):
            bucket.delete(f"{partition}/{name}")


def _leases(bucket: Bucket, partition: str) -> dict[str, float]:
    """The leases on ``partition``: name -> S3's last-modified time (seconds)."""
    selector = pafs.FileSelector(bucket.path(partition), allow_not_found=True)
    return {
        info.base_name: info.mtime.timestamp() if info.mtime is not None else 0.0
        for info in bucket.filesystem.get_file_info(selector)
        if info.base_name.startswith(LEASE_PREFIX)
    }


def _inputs_due(bucket: Bucket, infos: list[FileInfo], now: float, grace_s: float) -> list[Path]:
    """The keys among ``infos`` that a merged object older than ``grace_s`` names: to delete."""
    present = {info.path for info in infos}
    due = []
    for info in infos:
        if compact.is_merged(info.path) and info.mtime + grace_s <= now:
            due += [k for n in inputs_of(bucket, info) if (k := info.path.parent / n) in present]
    return due


def _groups_due(
    bucket: Bucket, signal: str, infos: list[FileInfo], small_bytes: int, guard: Guard | None
) -> list[tuple[list[FileInfo], Path]]:
    """The groups of small objects among ``infos`` to merge, with the merged object's key (not
    merged already; with forwarding, only forwarded ones, and only where the merged name
    counts as sent too)."""
    skip = covered(bucket, infos)
    if guard is not None:
        skip |= set(guard.unforwarded(signal, infos))
    small = [i for i in infos if i.path not in skip and i.size < small_bytes]
    due = []
    for group in compact.groups(small):
        target = compact.merged_path([i.path for i in group])
        if guard is None or not guard.unforwarded(signal, [FileInfo(target, 0, 0.0)]):
            due.append((group, target))
    return due


def _chunks(
    bucket: Bucket, signal: str, group: list[FileInfo], target: Path, guard: Guard | None
) -> Iterator[tuple[list[FileInfo], Path]]:
    """``group`` cut into merges that fit in memory, each with its merged key: ``target`` for
    the first, the others named after their own oldest input (with forwarding, only those
    the forwarder's cursor counts as sent)."""
    rest = group
    while len(rest) >= 2:
        kept, taken = compact.within_memory(rest, lambda info: _footer(bucket, info))
        if len(kept) >= 2:
            yield kept, target
        rest = rest[taken:]
        if len(rest) >= 2:
            target = compact.merged_path([i.path for i in rest])
            if guard is not None and guard.unforwarded(signal, [FileInfo(target, 0, 0.0)]):
                return


def _merge(
    bucket: Bucket,
    signal: str,
    group: list[FileInfo],
    infos: list[FileInfo],
    target: Path,
    scratch: Path,
    deadline: float,
    grace_s: float,
    stats: CompactStats,
) -> None:
    present = {info.path.name for info in infos}
    names = {info.path.name for info in group}
    for info in group:
        names |= {n for n in inputs_of(bucket, info) if n in present}
    key = target.as_posix()
    try:
        tables = [
            pq.read_table(bucket.path(i.path.as_posix()), filesystem=bucket.filesystem)
            for i in group
        ]
        table = compact.merged_table(signal, tables, names)
        scratch.mkdir(parents=True, exist_ok=True)
        local = scratch / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            with local.open("wb") as sink:
                fmt.write_table(sink, table, signal, fmt.COMPACT_ZSTD_LEVEL)
            if pq.ParquetFile(local).metadata.num_rows != table.num_rows:  # pragma: no cover
                raise StorageError(f"compacting into {bucket.url(key)}: rows lost in writing")
            if _clock() > deadline:
                log.warning("not uploading %s: the merge outlasted its lease", bucket.url(key))
                return
            bucket.upload(local, key)
        finally:
            with contextlib.suppress(StorageError):
                fs.remove(local, stop=scratch)
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(f"cannot compact into {bucket.url(key)}: {exc}") from exc
    stats.files_merged += len(group)
    stats.files_written += 1
    stats.rows += int(table.num_rows)
    if grace_s <= 0:
        for info in group:
            if bucket.delete(info.path.as_posix()):
                stats.inputs_deleted += 1
    log.info("compacted %d objects (%d rows) into %s", len(group), table.num_rows, bucket.url(key))


def _footer(bucket: Bucket, info: FileInfo) -> pq.FileMetaData:
    with bucket.filesystem.open_input_file(bucket.path(info.path.as_posix())) as source:
        return pq.ParquetFile(source).metadata


class BucketCompactor(compact.Compactor):
    """Compacts the bucket of an object-store output every ``interval_s`` on its own thread
    (the service's), writing the merged files in ``scratch`` (in its spool) first."""

    def __init__(
        self, bucket: Bucket, scratch: Path, interval_s: float, guard: Guard | None = None
    ) -> None:
        super().__init__(scratch, interval_s, guard)
        self.bucket = bucket

    def compact(self, signal: str) -> None:
        compact_signal(self.bucket, signal, self.output_dir, guard=self.guard)

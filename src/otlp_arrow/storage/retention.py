"""Retention: which files to delete, by age and by total size (pure planning + apply).

Files not forwarded yet are *protected* (see :class:`Guard`, the forwarder): retention by age
keeps them; retention by size may still delete them, oldest first like any other file, and
then tells the guard first, which counts the rows lost to forwarding and moves past them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from otlp_arrow.storage import fs, locks
from otlp_arrow.storage.fs import FileInfo
from otlp_arrow.storage.layout import (
    DATA_SUFFIXES,
    SEALED_SUFFIX,
    SUFFIX,
    without_sealed_duplicates,
)
from otlp_arrow.storage.objects import Bucket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    max_age_s: float  # 0: no limit
    max_bytes: int  # 0: no limit

    @property
    def enabled(self) -> bool:
        return self.max_age_s > 0 or self.max_bytes > 0


class Guard(Protocol):
    """Who must be asked before data files go: the forwarder."""

    def unforwarded(self, signal: str, files: Sequence[FileInfo]) -> Collection[Path]:
        """The paths among ``files`` not fully forwarded yet."""
        ...

    def dropping(self, signal: str, files: Sequence[FileInfo]) -> None:
        """``files``, not fully forwarded, are about to be deleted (by size)."""
        ...


def plan(
    files: Sequence[FileInfo],
    now: float,
    policy: RetentionPolicy,
    keep: Collection[Path] = (),
    protected: Collection[Path] = (),
) -> list[FileInfo]:
    """The files to delete, oldest first: those last written more than ``max_age_s`` ago
    (except the ``protected`` ones: not forwarded yet), then the oldest others, protected or
    not, until the total is within ``max_bytes``. Files in ``keep`` (being written) are never
    deleted."""
    candidates = sorted((f for f in files if f.path not in keep), key=lambda f: (f.mtime, f.path))
    doomed: list[FileInfo] = []
    if policy.max_age_s > 0:
        doomed = [
            f for f in candidates if now - f.mtime > policy.max_age_s and f.path not in protected
        ]
    if policy.max_bytes > 0:
        total = sum(f.size for f in files) - sum(f.size for f in doomed)
        chosen = {f.path for f in doomed}
        for f in candidates:
            if total <= policy.max_bytes:
                break
            if f.path in chosen:
                continue
            doomed.append(f)
            total -= f.size
    return doomed


def apply(
    signal_dir: Path,
    now: float,
    policy: RetentionPolicy,
    keep: Collection[Path] = (),
    rows_of: Callable[[Path], int] | None = None,
    guard: Guard | None = None,
) -> list[FileInfo]:
    """Delete what :func:`plan` says for the files under ``signal_dir``; return them. Stream
    files a live process holds (this one's or another's writer, see ``storage.locks``) are
    kept, whatever ``keep`` says; files the ``guard`` says are not forwarded yet are kept
    from retention by age, and it is told before any of them is deleted by size."""
    if not policy.enabled:
        return []
    listed = fs.list_files(signal_dir, DATA_SUFFIXES)
    # a stream next to its Parquet copy is one file (sealed; the stream is going)
    unique = set(without_sealed_duplicates([f.path for f in listed]))
    files = [f for f in listed if f.path in unique]
    live = {f.path for f in files if f.path.suffix == SUFFIX and locks.is_held(f.path)}
    protected = set(guard.unforwarded(signal_dir.name, files)) if guard else set()
    doomed = plan(files, now, policy, {*keep, *live}, protected)
    deleted = []
    for f in doomed:
        with locks.Claim(f.path) as owned:  # nobody seals or deletes it while we do
            if not owned:  # gone, or a live process took it since it was listed
                continue
            rows = rows_of(f.path) if rows_of is not None else 0
            if guard is not None and f.path in protected:  # by size, before it was forwarded
                guard.dropping(signal_dir.name, [f])
            if not fs.remove(f.path, stop=signal_dir):
                continue
        if f.path.suffix == SEALED_SUFFIX:  # a stream copy a crash left behind, if any
            locks.remove_if_free(f.path.with_suffix(SUFFIX), stop=signal_dir)
        deleted.append(dataclasses.replace(f, rows=rows))
    if deleted:
        log.info(
            "retention deleted %d file(s), %d bytes, under %s",
            len(deleted),
            sum(f.size for f in deleted),
            signal_dir,
        )
    return deleted


def apply_remote(
    bucket: Bucket, signal: str, now: float, policy: RetentionPolicy
) -> list[FileInfo]:
    """Retention of an object-store output: delete what :func:`plan` says among the signal's
    objects in the bucket (by their last-modified time and size; each writer sharing the
    bucket may do it, deleting an object twice is harmless); return them, with their rows
    (read from each Parquet footer before it goes)."""
    if not policy.enabled:
        return []
    deleted = []
    for f in plan(bucket.list_files(signal, SEALED_SUFFIX), now, policy):
        key = f.path.as_posix()
        rows = bucket.rows(key)
        if bucket.delete(key):
            deleted.append(dataclasses.replace(f, rows=rows))
    if deleted:
        log.info(
            "retention deleted %d object(s), %d bytes, under %s",
            len(deleted),
            sum(f.size for f in deleted),
            bucket.url(signal),
        )
    return deleted

"""Uploading sealed files from the spool to the bucket, on its own thread.

A sealed Parquet file in the spool is put at the same relative key in the bucket (an object is
visible whole or not at all), its size checked, the final-location hook told, and only then is
the spool copy deleted. So a crash at any point leaves the file in the spool, and the next
start uploads it again (the same key: the object is replaced by the same bytes, and the hook is
told again: it is called *at least once* per file, so it must be idempotent). Failed uploads
are retried with back-off (``forward.backoff``); the uploader keeps count of the spool's bytes,
and :attr:`Uploader.full` says when exports must be refused (``spool_max_bytes``).

The spool is scanned, not only told: what an earlier run left (sealed, not uploaded) and what
any worker directory holds is found by the same scan (``storage.spool.roots``). A file is
claimed (``storage.locks``) while it is uploaded and deleted, so two processes on one spool
never upload one file at the same time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from otlp_arrow.errors import StorageError
from otlp_arrow.forward import backoff
from otlp_arrow.schema import SIGNALS, Signal
from otlp_arrow.storage import fs, locks, retention, spool
from otlp_arrow.storage.layout import SEALED_SUFFIX
from otlp_arrow.storage.objects import Bucket
from otlp_arrow.storage.retention import RetentionPolicy

log = logging.getLogger(__name__)


class FinalHook(Protocol):
    """Told when a sealed file is at its final place: ``(signal, uri, local)``. ``uri`` is the
    object's URI (``s3://…``) or, for a local output, the sealed file's path; ``local`` is a
    readable copy of the file while the hook runs. Called at least once per file (again
    after a crash before the spool copy was deleted); raising makes the uploader try again."""

    def __call__(self, signal: Signal, uri: str, local: Path) -> None: ...


@dataclass
class UploadStats:
    files_uploaded: int
    bytes_uploaded: int
    upload_errors: int
    spool_bytes: int
    spool_full: bool
    last_error: str
    files_deleted: int  # by retention in the bucket
    rows_deleted: dict[Signal, int]


class Uploader:
    """Uploads what the spool holds sealed, oldest first, retrying with back-off."""

    def __init__(
        self,
        bucket: Bucket,
        spool_dir: Path,
        *,
        max_bytes: int,
        on_final: FinalHook | None = None,
        retention: Mapping[Signal, RetentionPolicy] | None = None,
        retention_interval_s: float = 60.0,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        poll_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bucket = bucket
        self.spool_dir = spool_dir
        self.max_bytes = max_bytes
        self.on_final = on_final
        self.retention = dict(retention or {})  # of the bucket, by age and size
        self.retention_interval_s = retention_interval_s
        self._next_retention = 0.0
        self.files_deleted = 0
        self.rows_deleted: dict[Signal, int] = {}
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.poll_s = poll_s
        self.clock = clock
        self.files_uploaded = 0
        self.bytes_uploaded = 0
        self.upload_errors = 0
        self.last_error = ""
        self.spool_bytes = spool.usage(spool_dir, SIGNALS)
        self._failures = 0  # consecutive failed attempts
        self._next_try = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._deadline = 0.0  # once stopping: upload until then, then leave the rest
        self._thread = threading.Thread(target=self._run, name="otlp-arrow-uploader", daemon=True)
        self._thread.start()

    @property
    def full(self) -> bool:
        """True while the spool holds ``max_bytes`` or more (exports are refused meanwhile)."""
        return self.spool_bytes >= self.max_bytes

    def stats(self) -> UploadStats:
        return UploadStats(
            self.files_uploaded,
            self.bytes_uploaded,
            self.upload_errors,
            self.spool_bytes,
            self.full,
            self.last_error,
            self.files_deleted,
            dict(self.rows_deleted),
        )

    def nudge(self, path: Path | None = None) -> None:
        """A file was sealed: upload soon (the next scan finds it)."""
        self._wake.set()

    def close(self, timeout_s: float) -> None:
        """Upload what is sealed for at most ``timeout_s``, then stop; what is left stays in
        the spool for the next start."""
        self._deadline = self.clock() + timeout_s
        self._next_try = 0.0  # one more attempt now, whatever the back-off said
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            stopping = self._stop.is_set()
            if self.clock() >= self._next_try:
                done = self._upload_all(stopping)
                if stopping and (done or self.clock() >= self._deadline):
                    break
            elif stopping and self.clock() >= self._deadline:
                break
            self._refresh()
            self._retain()
            self._wake.wait(self.poll_s)
            self._wake.clear()
        self._refresh()

    def _upload_all(self, stopping: bool) -> bool:
        """Upload every sealed file found now; True if none failed (a failure, whatever it
        is, keeps the file and schedules the next attempt: the thread never dies of it)."""
        try:
            for root, signal, path in self._sealed():
                if stopping and self.clock() >= self._deadline:
                    return False
                self._upload(root, signal, path)
                self._failures = 0
                self._refresh()
        except Exception as exc:  # StorageError, or e.g. the hook's own error
            self._failed(exc)
            return False
        return True

    def _refresh(self) -> None:
        try:
            self.spool_bytes = spool.usage(self.spool_dir, SIGNALS)
        except StorageError as exc:  # pragma: no cover - the spool vanished or is unreadable
            log.warning("cannot measure the spool: %s", exc)

    def _retain(self) -> None:
        now = time.time()
        if now < self._next_retention or not self.retention:
            return
        self._next_retention = now + self.retention_interval_s
        for signal, policy in self.retention.items():
            try:
                deleted = retention.apply_remote(self.bucket, signal, now, policy)
            except Exception as exc:  # StorageError mostly; never the end of the thread
                log.warning("retention in the bucket failed (tried again later): %s", exc)
                continue
            self.files_deleted += len(deleted)
            rows = sum(f.rows or 0 for f in deleted)
            self.rows_deleted[signal] = self.rows_deleted.get(signal, 0) + rows

    def _sealed(self) -> list[tuple[Path, Signal, Path]]:
        found = []
        for root in spool.roots(self.spool_dir):
            for signal in SIGNALS:
                files = fs.list_files(root / signal, SEALED_SUFFIX)
                found += [(root, signal, f.path) for f in files]
        found.sort(key=lambda item: item[2].name)
        return found

    def _upload(self, root: Path, signal: Signal, path: Path) -> None:
        relative = path.relative_to(root).as_posix()
        with locks.Claim(path) as owned:
            if not owned:  # gone (uploaded by another process), or being handled there
                return
            size = path.stat().st_size
            if self.bucket.size(relative) != size:  # else: uploaded before a crash, whole
                self.bucket.upload(path, relative)
            if self.on_final is not None:
                self.on_final(signal, self.bucket.url(relative), path)
            fs.remove(path, stop=root / signal)
        self.files_uploaded += 1
        self.bytes_uploaded += size
        log.debug("uploaded %s to %s", path, self.bucket.url(relative))

    def _failed(self, exc: BaseException) -> None:
        self.upload_errors += 1
        self.last_error = str(exc)
        wait = backoff.delay(self._failures, self.retry_initial_s, self.retry_max_s)
        self._failures += 1
        self._next_try = self.clock() + wait
        log.warning("upload failed (attempt %d, next in %.1fs): %s", self._failures, wait, exc)

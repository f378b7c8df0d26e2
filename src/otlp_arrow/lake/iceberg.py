"""The Iceberg committer: every sealed Parquet file becomes part of its signal's table.

``commit(signal, uris)`` adds the files *as they are* (like pyiceberg's ``add_files``, see
``lake.files``: their footers give the column statistics; nothing is rewritten). Several
writers may commit to one table at once: a commit that loses the race
(``CommitFailedException``, or a SQL catalog busy) is retried on the refreshed table. Each
attempt first drops the files the table already references, so a file is committed once,
never twice, even when two writers (or a writer and ``repair``) race to add the same one.

``repair()`` closes the gap a crash leaves between sealing/uploading a file and committing
it: every data file in the warehouse that no snapshot of its table references is committed,
unless retention had removed it (its newest row is past the signal's retention age): such a
leftover of an interrupted retention run is deleted instead.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from otlp_arrow.errors import StorageError
from otlp_arrow.lake import catalog as cat
from otlp_arrow.lake.files import add_files
from otlp_arrow.lake.schema import TIME_COLUMNS, iceberg_schema, newest_row_s
from otlp_arrow.schema import SIGNALS, Signal
from otlp_arrow.storage.layout import SEALED_SUFFIX
from otlp_arrow.storage.retention import RetentionPolicy

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

#: Table properties: format version 2 (pyiceberg 0.12 cannot write v3, see docs/schema.md)
#: and no retries inside pyiceberg (ours re-check for duplicates before every attempt).
TABLE_PROPERTIES = {"format-version": "2", "commit.retry.num-retries": "0"}
ATTEMPTS = 20  # commit attempts before giving up (the file is then committed by repair)


@dataclass
class CommitStats:
    files_committed: int = 0
    files_skipped: int = 0  # already in the table
    conflicts: int = 0  # commits retried after losing a race
    errors: int = 0
    by_signal: dict[str, int] = field(default_factory=dict)


class Committer:
    """``Committer(catalog_uri, warehouse, namespace="otel")``: the tables of the three
    signals in ``catalog_uri``, their data under ``warehouse`` (``output_dir``)."""

    def __init__(
        self,
        catalog_uri: str,
        warehouse: str,
        namespace: str = "otel",
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.warehouse = cat.warehouse_uri(warehouse)
        self.namespace = namespace
        self.catalog: Catalog = cat.open_catalog(catalog_uri, self.warehouse, env)
        self.fs, self._root = cat.filesystem(self.warehouse)
        self.stats = CommitStats()
        self._tables: dict[str, Table] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the catalog's connections (a SQL catalog's pool, a REST catalog's HTTP
        session)."""
        self.catalog.close()

    # -- tables ---------------------------------------------------------------------------

    def table(self, signal: Signal) -> Table:
        """The signal's table as it is now, created if missing (racing creators: one wins,
        all load it)."""
        from pyiceberg.exceptions import NamespaceAlreadyExistsError, TableAlreadyExistsError

        with self._lock:
            if signal in self._tables:  # loaded before: its newest metadata
                return self._tables[signal].refresh()
            ident = (self.namespace, signal)
            with contextlib.suppress(NamespaceAlreadyExistsError):
                self.catalog.create_namespace(self.namespace)
            try:
                table = self.catalog.load_table(ident)
            except Exception:  # NoSuchTableError, or a creator mid-way: try to create it
                try:
                    table = self.catalog.create_table(
                        ident,
                        schema=iceberg_schema(signal),
                        location=f"{self.warehouse}/{signal}",
                        properties=TABLE_PROPERTIES,
                    )
                    log.info("created the Iceberg table %s.%s", self.namespace, signal)
                except TableAlreadyExistsError:
                    table = self.catalog.load_table(ident)
            self._tables[signal] = table
            return table

    def referenced(self, signal: Signal) -> set[str]:
        """The data files the table's current snapshot references."""
        table = self.table(signal)
        if table.current_snapshot() is None:
            return set()
        files = table.inspect.files()
        return set(files.column("file_path").to_pylist())

    # -- committing -----------------------------------------------------------------------

    def commit(self, signal: Signal, uris: Iterable[str]) -> int:
        """Add the sealed Parquet files ``uris`` to the signal's table, each once; returns
        how many were added (files already referenced are skipped). Raises StorageError if
        the commit still fails after ATTEMPTS tries."""
        from pyiceberg.exceptions import CommitFailedException

        wanted = list(dict.fromkeys(self._uri(u) for u in uris))
        if not wanted:
            return 0
        table = self.table(signal)
        delay = 0.05
        for attempt in range(ATTEMPTS):
            try:
                new = [u for u in wanted if u not in self.referenced(signal)]
                self.stats.files_skipped += len(wanted) - len(new)
                if new:
                    add_files(table, new)
                self.stats.files_committed += len(new)
                self.stats.by_signal[signal] = self.stats.by_signal.get(signal, 0) + len(new)
                return len(new)
            except _retryable(CommitFailedException) as exc:
                self.stats.conflicts += 1
                log.debug("commit to %s lost a race (attempt %d): %s", signal, attempt + 1, exc)
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
            except Exception as exc:
                self.stats.errors += 1
                raise StorageError(
                    f"cannot commit {len(wanted)} file(s) to {signal}: {exc}"
                ) from exc
        self.stats.errors += 1
        raise StorageError(f"cannot commit to {signal}: {ATTEMPTS} attempts lost to other writers")

    def _uri(self, uri: str) -> str:
        return uri if "://" in uri else cat.warehouse_uri(uri)

    # -- repair ---------------------------------------------------------------------------

    def data_files(self, signal: Signal) -> list[pafs.FileInfo]:
        """The sealed Parquet files in the warehouse of ``signal`` (not the table metadata,
        not hidden files being made)."""
        base = f"{self._root.rstrip('/')}/{signal}"
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=True))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(f"cannot list {base}: {exc}", base) from exc
        return sorted(
            (
                i
                for i in infos
                if i.type == pafs.FileType.File
                and i.base_name.endswith(SEALED_SUFFIX)
                and not i.base_name.startswith(".")
                and "/metadata/" not in i.path
            ),
            key=lambda i: i.path,
        )

    def repair(self, retention: Mapping[Signal, RetentionPolicy] | None = None) -> dict[str, int]:
        """Commit the sealed files no snapshot references (a crash between upload and
        commit); delete those retention had removed from the table. Per signal: files
        committed."""
        now = time.time()
        done: dict[str, int] = {}
        for signal in SIGNALS:
            referenced = self.referenced(signal)
            policy = (retention or {}).get(signal)
            orphans: list[str] = []
            for info in self.data_files(signal):
                uri = cat.uri_of(self.warehouse, info.path)
                if uri in referenced:
                    continue
                if policy is not None and policy.max_age_s > 0:
                    newest = self._newest_row(info.path, signal)
                    if newest is not None and newest < now - policy.max_age_s:
                        self._delete(info.path)  # retention took it off the table already
                        continue
                orphans.append(uri)
            done[signal] = self.commit(signal, orphans) if orphans else 0
            if done[signal]:
                log.info("repair: committed %d sealed %s file(s)", done[signal], signal)
        return done

    def _newest_row(self, path: str, signal: Signal) -> float | None:
        with self.fs.open_input_file(path) as source:
            meta = pq.ParquetFile(source).metadata
        return newest_row_s(meta, TIME_COLUMNS[signal])

    def delete_uri(self, uri: str) -> None:
        """Delete the object ``uri`` (a data file no snapshot references)."""
        self._delete(uri.removeprefix("s3://") if self.warehouse.startswith("s3://") else uri)

    def _delete(self, path: str) -> None:
        try:
            self.fs.delete_file(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageError(f"cannot delete {path}: {exc}", path) from exc


def _retryable(conflict: type[Exception]) -> tuple[type[Exception], ...]:
    """A lost race, or a SQL catalog that is busy (sqlite locked by another writer)."""
    try:
        from sqlalchemy.exc import OperationalError
    except ImportError:  # pragma: no cover - sqlalchemy comes with pyiceberg[sql-*]
        return (conflict,)
    return (conflict, OperationalError)


class BackgroundCommitter:
    """Commits on its own thread, so that sealing never waits for the catalog. A file whose
    commit fails stays in the warehouse, readable, and is committed by the next ``repair``."""

    def __init__(self, committer: Committer) -> None:
        self.committer = committer
        self._queue: queue.SimpleQueue[tuple[Signal, str] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="otlp-arrow-iceberg", daemon=True)
        self._thread.start()

    def submit(self, signal: Signal, uri: str) -> None:
        self._queue.put((signal, uri))

    def close(self) -> None:
        """Commit everything submitted, then stop."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            batch: dict[Signal, list[str]] = {item[0]: [item[1]]}
            stop = False
            while True:  # group what is queued: one commit per signal
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.setdefault(more[0], []).append(more[1])
            for signal, uris in batch.items():
                try:
                    self.committer.commit(signal, uris)
                except StorageError as exc:
                    log.warning("%s; the next start commits them (repair)", exc)
                except Exception:  # pragma: no cover - a defect; keep committing the others
                    log.exception("unexpected error while committing to %s", signal)
            if stop:
                return


def describe(committer: Committer) -> dict[str, Any]:
    s = committer.stats
    return {"files_committed": s.files_committed, "conflicts": s.conflicts, "errors": s.errors}

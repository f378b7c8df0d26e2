"""Retention on the Iceberg tables, in the one order that never leaves a snapshot pointing at
a deleted file: (1) commit a snapshot without the files (by the age of their newest row, and
oldest first beyond the size limit: ``storage.retention.plan``, the files' rules), (2) expire
the snapshots older than that commit, (3) delete the objects no snapshot references any more.

A file's age is the newest value of its time column (``lake.schema.TIME_COLUMNS``), from the
manifest's upper bound, not the object's modification time: what a partition by day would
give, without partitions (see docs/storage.md, "Iceberg"). A crash after (1) or (2) leaves
objects no snapshot references; ``Committer.repair`` deletes those whose rows are past the
retention age instead of committing them again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otlp_arrow.lake.schema import TIME_COLUMNS
from otlp_arrow.schema import Signal
from otlp_arrow.storage import retention
from otlp_arrow.storage.fs import FileInfo
from otlp_arrow.storage.retention import RetentionPolicy

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from otlp_arrow.lake.iceberg import Committer

log = logging.getLogger(__name__)


def newest_s(table: Table, data_file: Any, signal: Signal) -> float | None:
    """The newest row time of ``data_file`` (seconds since the epoch), from its manifest
    upper bound; None when the file has none (all null)."""
    from pyiceberg.conversions import from_bytes

    field = table.schema().find_field(TIME_COLUMNS[signal])
    raw = (data_file.upper_bounds or {}).get(field.field_id)
    if raw is None:
        return None
    micros = from_bytes(field.field_type, raw)  # type: ignore[arg-type]
    return float(micros) / 1e6


def plan(table: Table, signal: Signal, now: float, policy: RetentionPolicy) -> list[Any]:
    """The data files (``pyiceberg.manifest.DataFile``) retention removes, oldest first. A
    file without a time bound counts as new (it is removed by size only)."""
    files = {str(task.file.file_path): task.file for task in table.scan().plan_files()}
    infos = [
        FileInfo(Path(uri), int(df.file_size_in_bytes), newest_s(table, df, signal) or now)
        for uri, df in files.items()
    ]
    by_path = {Path(uri): df for uri, df in files.items()}
    return [by_path[info.path] for info in retention.plan(infos, now, policy)]


def apply(committer: Committer, signal: Signal, now: float, policy: RetentionPolicy) -> int:
    """Remove the files ``plan`` names from the table, expire older snapshots, delete the
    objects; returns the number of rows removed."""
    from pyiceberg.exceptions import CommitFailedException

    if not policy.enabled:
        return 0
    table = committer.table(signal)
    for _attempt in range(5):  # another writer committed meanwhile: plan again
        table.refresh()
        if table.current_snapshot() is None:
            return 0
        doomed = plan(table, signal, now, policy)
        if not doomed:
            return 0
        try:
            with table.transaction() as tx, tx.update_snapshot().overwrite() as overwrite:
                for data_file in doomed:
                    overwrite.delete_data_file(data_file)
            break
        except CommitFailedException:
            continue
    else:
        log.warning("retention on %s lost 5 commits to other writers; next round", signal)
        return 0
    expire(table)
    live = referenced_anywhere(table)
    for data_file in doomed:
        if data_file.file_path not in live:
            committer.delete_uri(str(data_file.file_path))
    rows = sum(int(df.record_count) for df in doomed)
    log.info("retention removed %d %s file(s), %d rows", len(doomed), signal, rows)
    return rows


def expire(table: Table) -> None:
    """Expire every snapshot but the current one (older than now)."""
    table.refresh()
    current = table.current_snapshot()
    if current is None:  # pragma: no cover - apply committed one
        return
    older = [
        s.snapshot_id for s in table.metadata.snapshots if s.snapshot_id != current.snapshot_id
    ]
    if older:
        table.maintenance.expire_snapshots().older_than(datetime.now(UTC)).commit()
        table.refresh()


def referenced_anywhere(table: Table) -> set[str]:
    """The data files any remaining snapshot references."""
    if table.current_snapshot() is None:
        return set()
    return set(table.inspect.all_data_files().column("file_path").to_pylist())

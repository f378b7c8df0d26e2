"""Where files go and when they rotate: pure functions, no I/O.

Layout: ``<output_dir>/<signal>/date=YYYY-MM-DD/hour=HH/<file name>``, Hive-style partitions
that pyarrow.dataset, DuckDB, Polars and Spark understand. File names are
``<signal>-<UTC time>-<pid>-<seq>-<token>.arrows``. The date and hour are those of the moment
the file was opened (UTC); a file is rotated at the hour boundary so that it never holds
writes from two partitions. No ``:`` in any name (Windows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SUFFIX = ".arrows"  # the registered extension of the Arrow IPC streaming format
SEALED_SUFFIX = ".parquet"  # a closed file, rewritten as Parquet by storage.seal
DATA_SUFFIXES = (SUFFIX, SEALED_SUFFIX)


def partition_dir(output_dir: Path, signal: str, opened: datetime) -> Path:
    opened = opened.astimezone(UTC)
    return output_dir / signal / f"date={opened:%Y-%m-%d}" / f"hour={opened:%H}"


def file_name(signal: str, opened: datetime, pid: int, seq: int, token: str) -> str:
    """A name that sorts by opening time and never collides: the process id, a per-process
    sequence number and a random 32-bit token tell apart files opened in the same second."""
    return f"{signal}-{opened.astimezone(UTC):%Y%m%dT%H%M%S}Z-{pid}-{seq:06d}-{token}{SUFFIX}"


def sealed_path(path: Path) -> Path:
    """Where the Parquet copy of the IPC stream file ``path`` goes (same name, new suffix)."""
    return path.with_suffix(SEALED_SUFFIX)


def without_sealed_duplicates(paths: list[Path]) -> list[Path]:
    """``paths`` without the IPC stream files whose Parquet copy is listed too (the short
    moment between sealing and deleting the stream file, or after a crash in between)."""
    sealed = {p.with_suffix("") for p in paths if p.suffix == SEALED_SUFFIX}
    return [p for p in paths if p.suffix != SUFFIX or p.with_suffix("") not in sealed]


@dataclass(frozen=True)
class RotationPolicy:
    max_bytes: int
    max_age_s: float

    def should_rotate(self, opened: datetime, now: datetime, size: int) -> bool:
        """True when a file opened at ``opened`` with ``size`` bytes must be closed at ``now``."""
        if size >= self.max_bytes:
            return True
        if (now - opened).total_seconds() >= self.max_age_s:
            return True
        return _hour(opened) != _hour(now)


def _hour(moment: datetime) -> tuple[int, int, int, int]:
    utc = moment.astimezone(UTC)
    return (utc.year, utc.month, utc.day, utc.hour)

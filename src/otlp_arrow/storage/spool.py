"""The local spool of an object-store output: where the hot IPC streams of an ``s3://`` output
are written, sealed to Parquet, and kept until their upload is confirmed.

Layout: the spool is laid out like a local output directory
(``<spool>/<signal>/date=…/hour=…/<file>``), so the writer, the sealer and the readers work on
it unchanged, and a file's key in the bucket is its path relative to the spool. ``serve
--workers N`` gives each worker its own sub-directory, :func:`worker_dir` (``worker-<i>``);
readers and uploaders look at the spool and every worker directory (:func:`roots`).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

from otlp_arrow.errors import StorageError
from otlp_arrow.storage import fs
from otlp_arrow.storage.layout import DATA_SUFFIXES

WORKER_PREFIX = "worker-"


def default_dir(output_uri: str, env: dict[str, str] | None = None) -> Path:
    """The spool of ``output_uri`` when ``spool_dir`` is not set: a per-user cache directory
    keyed by the URI (``~/.cache/otlp-arrow/spool/<bucket_prefix>-<hash>`` on Linux, under
    ``%LOCALAPPDATA%`` on Windows, ``~/Library/Caches`` on macOS), so that readers on the same
    machine find it and two outputs never share one."""
    env = dict(os.environ) if env is None else env
    if sys.platform == "win32":  # pragma: no cover - tested on Linux
        base = Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":  # pragma: no cover - tested on Linux
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", output_uri.split("://", 1)[-1]).strip("_")
    digest = hashlib.sha256(output_uri.encode()).hexdigest()[:12]
    return base / "otlp-arrow" / "spool" / f"{readable[:80]}-{digest}"


def worker_dir(spool_dir: Path, index: int) -> Path:
    """The spool of worker ``index`` of ``serve --workers N`` (its own files, its own locks)."""
    return spool_dir / f"{WORKER_PREFIX}{index}"


def roots(spool_dir: Path) -> list[Path]:
    """``spool_dir`` and its worker directories: every place a file of this spool can be."""
    found = [spool_dir]
    try:
        found += sorted(
            p for p in spool_dir.iterdir() if p.name.startswith(WORKER_PREFIX) and p.is_dir()
        )
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StorageError(f"cannot list {spool_dir}: {fs.describe(exc)}", spool_dir) from exc
    return found


def usage(spool_dir: Path, signals: tuple[str, ...]) -> int:
    """Bytes the spool holds: every data file (live, sealed, being made) of every root."""
    total = 0
    for root in roots(spool_dir):
        for signal in signals:
            for hidden in (False, True):
                total += sum(f.size for f in fs.list_files(root / signal, _ALL, hidden=hidden))
    return total


_ALL = (*DATA_SUFFIXES, ".tmp", ".new")

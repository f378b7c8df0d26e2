"""The one module that touches the file system. OS errors become StorageError here."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from otlp_arrow.errors import StorageError


@dataclass(frozen=True)
class FileInfo:
    path: Path
    size: int
    mtime: float  # seconds since the epoch of the last write
    rows: int | None = None  # when counted (files retention deleted)


def describe(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def check_writable_dir(path: Path) -> None:
    """Make ``path`` if it is missing; StorageError naming it and the cause unless it is a
    directory in which files can be created (a probe file is made and deleted)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StorageError(f"{path} is not a directory", path) from None
    except OSError as exc:
        raise StorageError(f"cannot create the directory {path}: {describe(exc)}", path) from exc
    probe = path / f".otlp-arrow-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe.open("xb").close()
        probe.unlink()
    except OSError as exc:
        raise StorageError(f"cannot write in {path}: {describe(exc)}", path) from exc


#: How often a creation is tried again after its directory was pruned under it.
_PRUNED_RETRIES = 3


def create_exclusive(path: Path) -> BinaryIO:
    """Create ``path`` (and its parents) for writing; fail if it exists already. Parents
    pruned by another thread or process between the ``mkdir`` and the creation (see
    :func:`remove`) are made again."""
    for attempt in range(_PRUNED_RETRIES, -1, -1):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return path.open("xb")
        except FileExistsError:
            raise
        except FileNotFoundError as exc:
            if not attempt:
                raise StorageError(f"cannot create {path}: {describe(exc)}", path) from exc
        except OSError as exc:
            raise StorageError(f"cannot create {path}: {describe(exc)}", path) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def list_files(
    directory: Path, suffix: str | tuple[str, ...], *, hidden: bool = False
) -> list[FileInfo]:
    """All files ending in ``suffix`` (or one of them) below ``directory``, sorted by name
    (oldest first). Names starting with ``.`` (files being made) only if ``hidden``.

    Files that vanish while listing (deleted by retention elsewhere) are skipped.
    """
    found: list[FileInfo] = []
    for path in _walk(directory):
        if not path.name.endswith(suffix) or path.name.startswith(".") != hidden:
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StorageError(f"cannot stat {path}: {describe(exc)}", path) from exc
        found.append(FileInfo(path, stat.st_size, stat.st_mtime))
    found.sort(key=lambda info: info.path.name)
    return found


def _walk(directory: Path) -> Iterator[Path]:
    try:
        for root, dirs, files in os.walk(directory, onerror=_raise):
            dirs.sort()
            for name in files:
                yield Path(root, name)
    except FileNotFoundError:
        return


def _raise(exc: OSError) -> None:
    if isinstance(exc, FileNotFoundError):
        return
    raise StorageError(f"cannot list {exc.filename}: {describe(exc)}", exc.filename) from exc


def open_read(path: Path) -> BinaryIO | None:
    """Open ``path`` for reading, or None if it no longer exists."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot open {path}: {describe(exc)}", path) from exc


def truncate(path: Path, size: int) -> None:
    """Cut ``path`` back to ``size`` bytes (best effort: used while recovering from errors)."""
    with contextlib.suppress(OSError):
        os.truncate(path, size)


def remove(path: Path, stop: Path) -> bool:
    """Delete ``path``, then its parent directories up to (not including) ``stop`` while they
    are empty. Returns False if the file was already gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StorageError(f"cannot delete {path}: {describe(exc)}", path) from exc
    parent = path.parent
    while parent != stop and stop in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
    return True


def ends_with(path: Path, marker: bytes) -> bool:
    """True if the file ``path`` ends with the bytes ``marker`` (False if it is gone)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size < len(marker):
                return False
            handle.seek(size - len(marker))
            return handle.read() == marker
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {describe(exc)}", path) from exc


def rename_new(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``; FileExistsError if ``target`` exists (POSIX: a hard
    link then an unlink, so an existing file is never replaced)."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError as exc:
        raise StorageError(f"cannot create {target}: {describe(exc)}", target) from exc
    with contextlib.suppress(OSError):
        source.unlink()


def sync(handle: BinaryIO) -> None:
    """Flush ``handle`` and fsync its file: its bytes are on the device."""
    try:
        handle.flush()
        os.fsync(handle.fileno())
    except OSError as exc:
        raise StorageError(f"cannot sync {handle.name}: {describe(exc)}", handle.name) from exc


def sync_dir(directory: Path) -> None:
    """fsync ``directory`` so that names created in it are on the device (POSIX; Windows has
    no directory handles to sync, and commits names with the file)."""
    if os.name == "nt":  # pragma: no cover
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StorageError(f"cannot sync {directory}: {describe(exc)}", directory) from exc


def replace(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` atomically, replacing ``target`` if it exists."""
    try:
        source.replace(target)
    except OSError as exc:
        raise StorageError(f"cannot rename {source} to {target}: {describe(exc)}", target) from exc


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` all at once: written to a hidden temporary file, synced,
    renamed over ``path``, and the directory synced, so a crash leaves the old or the new
    content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            handle.write(data)
            sync(handle)
        replace(tmp, path)
        sync_dir(path.parent)
    except OSError as exc:  # StorageError too
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, StorageError):
            raise
        raise StorageError(f"cannot write {path}: {describe(exc)}", path) from exc


def open_shared(path: Path) -> BinaryIO:
    """Open ``path`` for appending, creating it (and its parents) if needed: a file several
    processes open, e.g. to take turns holding its lock."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("ab")
    except OSError as exc:
        raise StorageError(f"cannot open {path}: {describe(exc)}", path) from exc

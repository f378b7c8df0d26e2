"""Advisory locks that say "a live process is using this file".

A writer holds one on every stream file it has open, a sealer on its temporary file, a
forwarder on its cursor. The operating system releases a lock when the process that held it
dies (even by ``kill -9``), so a lock never outlives its owner and a file whose lock can be
taken has no live owner: retention and sealing only touch such files.

POSIX: ``flock`` (whole file; a lock belongs to the open file, so a second ``open`` in the same
process is refused too, which is what the checks need). Windows: ``msvcrt.locking`` of one byte
far past any real end of file, so readers are never blocked from the data.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from otlp_arrow.errors import StorageError
from otlp_arrow.storage import fs

if (
    sys.platform == "win32"
):  # pragma: no cover - tested on Linux; the Windows branch is the same idea
    import msvcrt

    _OFFSET = 2**62

    def _try_lock(handle: BinaryIO) -> bool:
        position = handle.tell()
        try:
            handle.seek(_OFFSET)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            handle.seek(position)
        return True

else:
    import fcntl

    def _try_lock(handle: BinaryIO) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:  # e.g. a file system without locks
            raise StorageError(f"cannot lock {handle.name}: {exc.strerror}") from exc
        return True


def hold(handle: BinaryIO, path: Path) -> None:
    """Lock the open file ``handle`` (of ``path``) until it is closed; StorageError if a live
    process holds it already."""
    if not _try_lock(handle):
        raise StorageError(f"{path} is in use by another live process", path)


def try_hold(handle: BinaryIO) -> bool:
    """Lock ``handle`` until it is closed if nobody else does; False if a live process does."""
    return _try_lock(handle)


#: The suffix of a file being created: hidden, locked, then renamed to its real name.
STAGING_SUFFIX = ".new"
#: A staging file is unlocked for the moment between its creation and its lock, so one is
#: taken for a dead process's only once it is this old (it holds no data: it is renamed the
#: moment it is locked).
STAGING_GRACE_S = 60.0


def create_held(path: Path) -> BinaryIO:
    """Create ``path`` for writing, already locked when it appears under its name: it is made
    under a hidden staging name, locked, then renamed, so no scan ever sees it unlocked (and
    takes a writer's brand-new file for a dead one's). On Windows, where an open file cannot
    be renamed, it is created in place and locked at once."""
    if sys.platform == "win32":  # pragma: no cover - see the module docstring
        handle = fs.create_exclusive(path)
        _hold_or_close(handle, path)
        return handle
    staging = path.with_name(f".{path.name.lstrip('.')}{STAGING_SUFFIX}")
    handle = fs.create_exclusive(staging)
    _hold_or_close(handle, staging)
    try:
        fs.rename_new(staging, path)
    except BaseException:
        handle.close()
        with contextlib.suppress(StorageError):
            fs.remove(staging, stop=path.parent)
        raise
    return handle


def _hold_or_close(handle: BinaryIO, path: Path) -> None:
    try:
        hold(handle, path)
    except BaseException:
        handle.close()
        raise


class Claim:
    """The lock of an existing file, taken so that nobody else seals or deletes it meanwhile:
    ``with claim(path) as owned:`` — ``owned`` is False if the file is gone or a live process
    holds it. A claim is checked against the name (the file that holds the lock is still the
    one called ``path``), so a file deleted and replaced between open and lock is not owned."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO | None = None

    def __enter__(self) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(f"cannot open {self.path}: {exc.strerror}", self.path) from exc
        if not _try_lock(handle) or not _same_file(handle, self.path):
            handle.close()
            return False
        self._handle = handle
        return True

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()  # releases the lock
            self._handle = None


def _same_file(handle: BinaryIO, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(handle.fileno()), path.stat())
    except FileNotFoundError:
        return False


def remove_if_free(path: Path, stop: Path) -> bool:
    """Delete ``path`` (see :func:`fs.remove`) unless a live process holds it; False if it was
    held or already gone. The lock is taken for the deletion, so a sealer or writer of another
    process cannot start on the file in between."""
    with Claim(path) as owned:
        if not owned:
            return False
        if sys.platform != "win32":
            return fs.remove(path, stop=stop)
    return fs.remove(path, stop=stop)  # pragma: no cover - Windows deletes closed files only


def is_held(path: Path) -> bool:
    """True while a live process holds the lock of ``path`` (False if the file is gone)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StorageError(f"cannot open {path}: {exc.strerror}", path) from exc
    with contextlib.closing(handle):
        return not _try_lock(handle)  # closing the handle releases a lock we took


def remove_abandoned(signal_dir: Path, keep: Callable[[Path], bool] = lambda path: False) -> None:
    """Delete the hidden temporary and staging files below ``signal_dir`` that no live process
    holds (those of killed sealers, compactors and writers), except those ``keep`` names and
    staging files younger than :data:`STAGING_GRACE_S`."""
    young = time.time() - STAGING_GRACE_S
    for info in fs.list_files(signal_dir, (".tmp", STAGING_SUFFIX), hidden=True):
        if keep(info.path) or (info.path.name.endswith(STAGING_SUFFIX) and info.mtime > young):
            continue
        if not is_held(info.path):
            with contextlib.suppress(StorageError):
                fs.remove(info.path, stop=signal_dir)

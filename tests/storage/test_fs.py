"""Every OS error of the storage layer becomes a StorageError that names the path and the
cause (real failing calls: a read-only pseudo file system, a directory where a file should
be, a missing directory)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from otlp_arrow import StorageError
from otlp_arrow.storage import fs

pytestmark = pytest.mark.skipif(
    not Path("/proc/self").exists(), reason="uses /proc as a file system nothing can be made in"
)
PROC = Path("/proc")


def test_a_directory_nothing_can_be_written_in_is_refused_with_its_name() -> None:
    with pytest.raises(StorageError, match="cannot create the directory /proc/otlp-arrow"):
        fs.check_writable_dir(PROC / "otlp-arrow-test")
    with pytest.raises(StorageError, match="cannot write in /proc"):
        fs.check_writable_dir(PROC)


def test_creating_opening_and_writing_fail_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"cannot create /proc/x\.arrows"):
        fs.create_exclusive(PROC / "x.arrows")
    with pytest.raises(StorageError, match=f"cannot open {tmp_path}"):
        fs.open_read(tmp_path)  # a directory
    with pytest.raises(StorageError, match=r"cannot write /proc/cursor\.json"):
        fs.write_atomic(PROC / "cursor.json", b"{}")
    with pytest.raises(StorageError, match=r"cannot open /proc/x/y\.lease"):
        fs.open_shared(PROC / "x" / "y.lease")
    assert fs.open_read(tmp_path / "gone") is None


def test_reading_listing_and_deleting_fail_with_the_path(tmp_path: Path) -> None:
    directory = tmp_path / "a.arrows"
    (directory / "inner").mkdir(parents=True)
    with pytest.raises(StorageError, match=f"cannot read {directory}"):
        fs.ends_with(directory, b"x")
    assert fs.ends_with(tmp_path / "gone", b"x") is False
    with pytest.raises(StorageError, match=f"cannot delete {directory}"):
        fs.remove(directory, stop=tmp_path)
    assert fs.remove(tmp_path / "gone", stop=tmp_path) is False
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    with pytest.raises(StorageError, match="cannot list"):
        fs.list_files(blocker, ".arrows")
    assert fs.list_files(tmp_path / "missing", ".arrows") == []


def test_renames_and_syncs_fail_with_the_path(tmp_path: Path) -> None:
    source = tmp_path / "s"
    source.write_bytes(b"x")
    with pytest.raises(StorageError, match="cannot rename"):
        fs.replace(source, tmp_path / "missing" / "t")
    with pytest.raises(StorageError, match="cannot create"):
        fs.rename_new(source, tmp_path / "missing" / "t")
    target = tmp_path / "t"
    target.write_bytes(b"y")
    with pytest.raises(FileExistsError):
        fs.rename_new(source, target)  # never replaces an existing file
    with pytest.raises(StorageError, match="cannot sync"):
        fs.sync_dir(tmp_path / "missing")
    if sys.platform.startswith("linux"):
        with Path("/proc/self/status").open("rb") as handle, pytest.raises(StorageError):
            fs.sync(handle)


def test_a_directory_pruned_between_mkdir_and_create_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleting a partition's last file prunes its emptied directory (an uploader, retention):
    a writer about to create a file there after its ``mkdir`` must make the directory again,
    not fail with "No such file or directory"."""
    made = Path.mkdir
    target = tmp_path / "traces" / "hour=09" / "x.arrows"
    pruned: list[Path] = []

    def mkdir_then_pruned(self: Path, *args: object, **kwargs: object) -> None:
        made(self, *args, **kwargs)
        if self == target.parent and not pruned:
            pruned.append(self)
            self.rmdir()  # another thread removed the emptied directory at this moment

    monkeypatch.setattr(Path, "mkdir", mkdir_then_pruned)
    with fs.create_exclusive(target) as handle:
        handle.write(b"ok")
    assert pruned == [target.parent] and target.read_bytes() == b"ok"

"""The data files of one output, each row once: a local directory, or an object-store output
seen from this machine (its bucket and its local spool together).

Each row once: a file has the same relative name in the spool and in the bucket (its key),
and it is deleted from the spool only after its upload is confirmed, so for a while it is in
both. Readers then take the **bucket's copy** and skip the spool's (a stream in the spool whose
Parquet copy is in the bucket too: a crash between sealing and deleting it). The spool is
listed *before* the bucket: a file that leaves the spool between the two listings is in the
bucket by then, so no file is missed; a spool file deleted between listing and reading makes
the query ask again (``Store.with_duckdb``, ``Store._read``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from otlp_arrow.errors import ConfigError
from otlp_arrow.storage import spool
from otlp_arrow.storage.compact_remote import covered
from otlp_arrow.storage.footers import FooterCache, ParquetFile, files_of
from otlp_arrow.storage.fs import FileInfo
from otlp_arrow.storage.layout import SEALED_SUFFIX
from otlp_arrow.storage.objects import Bucket, open_bucket, parse_output
from otlp_arrow.storage.reader import signal_files


@dataclass(frozen=True)
class Listing:
    """One signal's files now: local ones (``path``: a real path) and objects in the bucket
    (``path``: the key relative to the output's root)."""

    local: list[FileInfo]
    remote: list[FileInfo]

    @property
    def all(self) -> list[FileInfo]:
        return self.local + self.remote


class Sources:
    """Where one output's files are: ``output`` (a local directory or an object-store URI) and,
    for a URI, ``spool_dir`` (default: the writer's default spool of that URI)."""

    def __init__(self, output: Path | str, spool_dir: Path | str | None = None) -> None:
        try:
            parsed = parse_output(output) if isinstance(output, str) else Path(output)
        except ValueError as exc:
            raise ConfigError(f"output_dir={output!r} is not valid: {exc}") from None
        self.output = parsed
        self.footers = FooterCache()
        self.bucket: Bucket | None = None
        if isinstance(parsed, str):
            self.bucket = open_bucket(parsed)
            self.spool_dir = Path(spool_dir) if spool_dir else spool.default_dir(parsed)
        else:
            self.spool_dir = parsed

    def __str__(self) -> str:
        return self.output if isinstance(self.output, str) else str(self.output)

    def roots(self) -> list[Path]:
        """The local directories laid out like an output: the directory, or every root of
        the spool (``serve --workers N`` writes one per worker)."""
        return [self.spool_dir] if self.bucket is None else spool.roots(self.spool_dir)

    def files(self, signal: str) -> Listing:
        """The signal's files (oldest first), each once (see the module docstring)."""
        local = [(root, info) for root in self.roots() for info in signal_files(root, signal)]
        if self.bucket is None:
            return Listing([info for _, info in local], [])
        listed = self.bucket.list_files(signal, SEALED_SUFFIX)
        uploaded = {_stem(info.path) for info in listed}
        merged = covered(self.bucket, listed)  # inputs of merged objects: read those instead
        remote = [info for info in listed if info.path not in merged]
        kept = [
            info
            for root, info in local
            if _stem(PurePosixPath(info.path.relative_to(root).as_posix())) not in uploaded
        ]
        kept.sort(key=lambda f: f.path.name)
        return Listing(kept, remote)

    def remote_files(self, keys: list[FileInfo]) -> list[ParquetFile]:
        """The objects ``keys`` (listed by :meth:`files`) as paths of the bucket's file system."""
        if self.bucket is None:
            return []
        bucket = self.bucket
        return files_of(keys, lambda key: bucket.path(PurePosixPath(key).as_posix()))

    def sealed_dataset(
        self,
        files: list[FileInfo],
        schema: pa.Schema,
        *,
        remote: bool,
        where: tuple[str, bytes] | None = None,
    ) -> ds.Dataset | None:
        """A lazy Parquet dataset over sealed ``files``: local paths, or (``remote``) keys in
        the bucket; None when there is nothing to read. Footers come from (and go to) this
        output's :class:`FooterCache`; ``where=(column, value)`` keeps only the row groups
        whose Bloom filter may hold ``value``."""
        if remote:
            if self.bucket is None or not files:
                return None
            filesystem = self.bucket.filesystem
            parquet = self.remote_files(files)
        else:
            filesystem = pafs.LocalFileSystem()
            parquet = files_of(files)
        fragments = self.footers.fragments(parquet, filesystem, where)
        if not fragments:
            return None
        return ds.FileSystemDataset(fragments, schema, ds.ParquetFileFormat(), filesystem)


def _stem(path: PurePosixPath | Path) -> str:
    return PurePosixPath(path).with_suffix("").as_posix()

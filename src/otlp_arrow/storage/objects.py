"""Object storage as the output: ``s3://bucket/prefix`` (and the other ``pyarrow.fs`` URI
schemes) through ``pyarrow.fs``. The one module that talks to a bucket; errors become
StorageError here, naming the URI and the cause (never a credential: none is ever in a URI).

Layout in the bucket: the same relative keys as on disk,
``<prefix>/<signal>/date=YYYY-MM-DD/hour=HH/<file name>.parquet``; file names carry the time,
the process id, a sequence number and a random token, so writers on many machines share one
bucket without coordinating (``storage.layout``).

S3 settings come the way AWS tools take them: credentials from the SDK's default chain
(``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and
``~/.aws``, instance roles), the region from ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, the
endpoint from ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` (pyarrow's S3 client does not read
these two itself, so they are passed as ``endpoint_override``). The URI may carry ``region``,
``endpoint_override`` and ``scheme`` as query parameters, as pyarrow's URIs do; credentials in
the URI are refused (URIs are logged and shown).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from otlp_arrow.errors import ConfigError, StorageError
from otlp_arrow.storage.fs import FileInfo

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
_S3_QUERY = ("region", "endpoint_override", "scheme")
#: Words of the S3 errors that mean "these credentials are refused".
_REFUSED = (
    "ACCESS_DENIED",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "Forbidden",
    "403",
)


def is_uri(value: object) -> bool:
    """True for an object-store URI (``s3://…``); a local path (or ``file://``) is not one."""
    return isinstance(value, str) and bool(_URI.match(value)) and not value.startswith("file://")


def parse_output(value: Any) -> Path | str:
    """The ``output_dir`` setting: a local directory (a Path) or an object-store URI (the
    normalized text, without a trailing ``/``). ValueError saying what is expected."""
    text = str(value).strip()
    if not text:
        raise ValueError("expected a directory path or s3://bucket/prefix")
    if text.startswith("file://"):
        return Path(text.removeprefix("file://")).expanduser()
    if not is_uri(text):
        return Path(text).expanduser()
    parts = urlsplit(text)
    if "@" in parts.netloc:
        raise ValueError(
            "credentials in the URI are not allowed (they would be logged and shown); give "
            "them the way AWS tools take them: AWS_* environment variables, a profile, a role"
        )
    if not parts.netloc:
        raise ValueError(f"{text!r} names no bucket: expected s3://bucket/prefix")
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "s3" and set(query) - set(_S3_QUERY):
        raise ValueError(
            f"unknown query parameter(s) {', '.join(sorted(set(query) - set(_S3_QUERY)))}: "
            f"s3:// takes {', '.join(_S3_QUERY)}"
        )
    return text.rstrip("/")


@dataclass(frozen=True)
class Bucket:
    """An output URI opened: its pyarrow file system and the root path inside it."""

    uri: str
    filesystem: pafs.FileSystem
    root: str  # "bucket/prefix" for S3: where the signal directories go

    def path(self, relative: str) -> str:
        """The file system path of the key ``relative`` (posix, below the root)."""
        return f"{self.root}/{relative}" if self.root else relative

    def url(self, relative: str) -> str:
        """The full URI of the key ``relative`` (what the final-location hook is given)."""
        base = self.uri.split("?", 1)[0]
        return f"{base}/{relative}"

    def list_files(self, signal: str, suffix: str) -> list[FileInfo]:
        """The objects ending in ``suffix`` under ``<root>/<signal>``, sorted by name; their
        ``path`` is the key relative to the root (a PurePosixPath-like Path)."""
        selector = pafs.FileSelector(self.path(signal), recursive=True, allow_not_found=True)
        try:
            infos = self.filesystem.get_file_info(selector)
        except (OSError, pa.ArrowException) as exc:
            raise _error(f"cannot list {self.url(signal)}", self.uri, exc) from exc
        found = []
        prefix = f"{self.root}/" if self.root else ""
        for info in infos:
            name = info.base_name
            if info.type != pafs.FileType.File or not name.endswith(suffix) or name[0] == ".":
                continue
            mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
            relative = info.path.removeprefix(prefix)
            found.append(FileInfo(Path(PurePosixPath(relative)), info.size or 0, mtime))
        found.sort(key=lambda f: f.path.name)
        return found

    def upload(self, local: Path, relative: str) -> None:
        """Put the local file ``local`` at the key ``relative``, whole or not at all: S3 makes
        an object visible only when its PUT (or its multipart upload) completes, and a size
        check afterwards removes anything short (StorageError then)."""
        try:
            data = local.read_bytes()  # all of it first: no local error mid-upload
        except OSError as exc:
            raise StorageError(f"cannot read {local}: {exc.strerror}", local) from exc
        target = self.path(relative)
        try:  # a failed part fails the close too: the multipart upload is not completed
            with self.filesystem.open_output_stream(target) as sink:
                sink.write(data)
            info = self.filesystem.get_file_info(target)
        except (OSError, pa.ArrowException) as exc:
            raise _error(f"cannot upload {local} to {self.url(relative)}", self.uri, exc) from exc
        if info.size != len(data):  # pragma: no cover - a defect of the client or the server
            self.delete(relative)
            raise StorageError(
                f"uploading {local}: {self.url(relative)} has {info.size} of {len(data)} bytes"
            )

    def size(self, relative: str) -> int | None:
        """The size of the object ``relative``, or None if there is none."""
        try:
            info = self.filesystem.get_file_info(self.path(relative))
        except (OSError, pa.ArrowException) as exc:
            raise _error(f"cannot look at {self.url(relative)}", self.uri, exc) from exc
        return info.size if info.type == pafs.FileType.File else None

    def rows(self, relative: str) -> int:
        """The rows of the Parquet object ``relative`` (its footer says); 0 if it is gone."""
        try:
            with self.filesystem.open_input_file(self.path(relative)) as source:
                return int(pq.ParquetFile(source).metadata.num_rows)
        except FileNotFoundError:
            return 0
        except (OSError, pa.ArrowException) as exc:
            raise _error(f"cannot read {self.url(relative)}", self.uri, exc) from exc

    def delete(self, relative: str) -> bool:
        """Delete the object ``relative``; False if it was gone already."""
        try:
            self.filesystem.delete_file(self.path(relative))
        except FileNotFoundError:
            return False
        except (OSError, pa.ArrowException) as exc:
            raise _error(f"cannot delete {self.url(relative)}", self.uri, exc) from exc
        return True

    def check(self) -> None:
        """Start-up check: the bucket exists and these credentials may write in it (a probe
        object is put and deleted). StorageError naming which is wrong."""
        bucket = self.root.split("/", 1)[0]
        try:
            info = self.filesystem.get_file_info(bucket)
        except (OSError, pa.ArrowException) as exc:
            raise _error(f"cannot reach the bucket of {self.uri}", self.uri, exc) from exc
        if info.type == pafs.FileType.NotFound:
            raise StorageError(f"the bucket {bucket!r} of {self.uri} does not exist")
        probe = f".otlp-arrow-probe-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            with self.filesystem.open_output_stream(self.path(probe)) as sink:
                sink.write(b"probe")
            self.filesystem.delete_file(self.path(probe))
        except (OSError, pa.ArrowException) as exc:
            raise _error(f"cannot write in {self.uri}", self.uri, exc) from exc


def open_bucket(uri: str, env: Mapping[str, str] | None = None) -> Bucket:
    """The file system of ``uri`` (S3 built from the AWS settings of ``env``, by default the
    environment; other schemes through ``pyarrow.fs.FileSystem.from_uri``). ConfigError for
    a scheme pyarrow does not know."""
    env = os.environ if env is None else env
    parts = urlsplit(uri)
    if parts.scheme != "s3":
        try:
            filesystem, root = pafs.FileSystem.from_uri(uri)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise ConfigError(f"output_dir={uri!r} cannot be opened by pyarrow.fs: {exc}") from exc
        return Bucket(uri, filesystem, root.rstrip("/"))
    query = dict(parse_qsl(parts.query))
    options: dict[str, Any] = {
        "allow_delayed_open": True,  # a small file is one PUT at close, not a multipart upload
        "connect_timeout": 5.0,
        "request_timeout": 60.0,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=3),
    }
    region = query.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        options["region"] = region
    endpoint = (
        query.get("endpoint_override")
        or env.get("AWS_ENDPOINT_URL_S3")
        or env.get("AWS_ENDPOINT_URL")
    )
    if endpoint:
        options["endpoint_override"] = endpoint
    if "scheme" in query:
        options["scheme"] = query["scheme"]
    root = (parts.netloc + parts.path).rstrip("/")
    return Bucket(uri, pafs.S3FileSystem(**options), root)


def display(output: Path | str) -> str:
    """``output`` for messages: a local directory resolved, a URI as given (it holds no
    secret, see :func:`parse_output`)."""
    return output if isinstance(output, str) else str(output.resolve())


def _error(what: str, uri: str, exc: BaseException) -> StorageError:
    text = str(exc)
    if any(word in text for word in _REFUSED):
        return StorageError(f"{what}: the credentials were refused ({_first_line(text)})")
    return StorageError(f"{what}: {_first_line(text)}")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"

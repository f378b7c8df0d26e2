"""Where the data goes: ``output_dir`` (a local directory or an object-store URI such as
``s3://bucket/prefix``) and, for a URI, the local spool the hot files are written to first.

A base of :class:`~otlp_arrow.config.settings.Config` (its fields are Config's fields), listed
first in the docs. See docs/storage.md, "Object storage".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from otlp_arrow.config.fields import _setting
from otlp_arrow.config.values import _parse_optional_path, parse_duration, parse_size
from otlp_arrow.storage import spool
from otlp_arrow.storage.objects import parse_output


@dataclass(frozen=True)
class OutputSettings:
    """The output and its spool."""

    output_dir: Path | str = _setting(
        Path("otlp-arrow-data"),
        parse_output,
        "Where the data goes: a local directory (one sub-directory per signal), or object "
        "storage, `s3://bucket/prefix` (other `pyarrow.fs` URIs too): files are then written "
        "to `spool_dir`, sealed to Parquet and uploaded. S3 credentials, region and endpoint "
        "come from the standard `AWS_*` variables (`AWS_ENDPOINT_URL` too), profiles, roles.",
        allowed="a directory path, or s3://bucket/prefix",
    )
    spool_dir: Path | None = _setting(
        None,
        _parse_optional_path,
        "With an object-store `output_dir`: the local directory the hot files are written to "
        "and kept in until their upload is confirmed. Readers on this machine read it too.",
        allowed="a directory path",
        default_text="a per-user cache directory keyed by `output_dir`",
    )
    spool_max_bytes: int = _setting(
        1024**3,
        parse_size,
        "Most bytes the spool may hold (an upload outage fills it): beyond it exports are "
        "refused (`BufferFullError`, HTTP 429, gRPC `RESOURCE_EXHAUSTED`) until uploads catch up.",
        low=1024,
        high=2**50,
        unit="size",
    )
    upload_retry_max: float = _setting(
        30.0,
        parse_duration,
        "Longest back-off between attempts to upload a file (doubled from 0.5s, with jitter).",
        low=0.01,
        high=3600.0,
        unit="duration",
    )

    @property
    def remote(self) -> str | None:
        """The object-store URI of ``output_dir``, or None for a local directory."""
        return self.output_dir if isinstance(self.output_dir, str) else None

    @property
    def spool(self) -> Path:
        """The spool directory: ``spool_dir``, or the default one of ``output_dir``."""
        if self.spool_dir is not None:
            return self.spool_dir
        return spool.default_dir(self.remote or str(self.output_dir))

    @property
    def local_dir(self) -> Path:
        """The directory the writer writes in: ``output_dir`` itself, or the spool."""
        return self.output_dir if isinstance(self.output_dir, Path) else self.spool

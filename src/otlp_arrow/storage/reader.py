"""Read stored batches back, including files still being written or cut off by a crash."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from otlp_arrow.schema import schema_for
from otlp_arrow.storage import fs
from otlp_arrow.storage.layout import SUFFIX

log = logging.getLogger(__name__)


def read_file(path: Path) -> Iterator[pa.RecordBatch]:
    """Every complete batch of one IPC stream file. A file without its end-of-stream marker
    (still being written, or its writer was killed) yields the batches before its cut."""
    source = fs.open_read(path)
    if source is None:
        return
    with source:
        try:
            reader = pa.ipc.open_stream(source)
        except (pa.ArrowInvalid, OSError):
            log.debug("skipping %s: no complete schema yet", path)
            return
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, OSError) as exc:
                log.debug("stopping at an incomplete batch in %s: %s", path, exc)
                return
            yield batch


def signal_files(output_dir: Path | str, signal: str) -> list[fs.FileInfo]:
    """The signal's data files, oldest first."""
    schema_for(signal)  # validates the name
    return fs.list_files(Path(output_dir) / signal, SUFFIX)


def iter_batches(output_dir: Path | str, signal: str) -> Iterator[pa.RecordBatch]:
    """Every complete batch of ``signal`` under ``output_dir``, oldest file first."""
    for info in signal_files(output_dir, signal):
        yield from read_file(info.path)


def read_table(output_dir: Path | str, signal: str) -> pa.Table:
    """All complete batches of ``signal`` under ``output_dir`` as one ``pyarrow.Table``
    (empty, with the signal's schema, when nothing is stored yet)."""
    return pa.Table.from_batches(list(iter_batches(output_dir, signal)), schema=schema_for(signal))

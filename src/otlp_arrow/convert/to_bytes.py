"""Arrow tables -> serialized OTLP export requests: ``arrow_to_otlp_bytes`` and, for
forwarding, ``iter_otlp_requests`` (a table cut into requests of at most N rows / M bytes).

The native core encodes straight from the Arrow buffers (``convert/native.py``); without it
(or for a signal it does not encode) the bytes are ``arrow_to_otlp(...).SerializeToString()``.
Both parse to the same request; a differential test holds them together.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from otlp_arrow.convert.native import native_encoder
from otlp_arrow.convert.to_otlp import logs_to_otlp, metrics_to_otlp, traces_to_otlp
from otlp_arrow.errors import ConversionError
from otlp_arrow.schema import Signal, as_signal, conform, schema_for

_TO_OTLP: Any = {"traces": traces_to_otlp, "metrics": metrics_to_otlp, "logs": logs_to_otlp}


class TableEncoder:
    """One table of a signal's schema, encoded row range by row range (the table is checked,
    cast and handed to the native core once)."""

    def __init__(self, table: pa.Table | pa.RecordBatch, signal: str) -> None:
        self.signal: Signal = as_signal(signal)
        self.table = _prepared(table, self.signal)
        self.num_rows: int = self.table.num_rows
        self._native = native_encoder(self.table, self.signal) if self.num_rows else None

    def encode(self, start: int = 0, stop: int | None = None) -> bytes:
        """The serialized export request of rows ``start`` to ``stop`` (default: the end)."""
        stop = self.num_rows if stop is None else stop
        if not 0 <= start <= stop <= self.num_rows:
            raise ConversionError(f"rows {start}..{stop} out of a table of {self.num_rows}")
        if start == stop:
            return b""
        if self._native is not None:
            try:
                return self._native.encode(start, stop)  # type: ignore[no-any-return]
            except ValueError as exc:
                raise ConversionError(f"cannot encode the {self.signal} table: {exc}") from None
        part = self.table.slice(start, stop - start)
        return _TO_OTLP[self.signal](part).SerializeToString()  # type: ignore[no-any-return]

    def pieces(
        self, max_rows: int | None = None, max_bytes: int | None = None
    ) -> Iterator[tuple[bytes, int]]:
        """The table as consecutive requests of at most ``max_rows`` rows and ``max_bytes``
        bytes each: (request, rows). A row that alone exceeds ``max_bytes`` raises
        ConversionError (before anything of it is yielded)."""
        if max_rows is not None and max_rows < 1:
            raise ConversionError(f"max_rows must be at least 1, got {max_rows}")
        if max_bytes is not None and max_bytes < 1:
            raise ConversionError(f"max_bytes must be at least 1, got {max_bytes}")
        start, total = 0, self.num_rows
        while start < total:
            rows = min(max_rows or total, total - start)
            data = self.encode(start, start + rows)
            while max_bytes is not None and len(data) > max_bytes:
                if rows == 1:
                    raise ConversionError(
                        f"row {start} alone encodes to {len(data)} bytes, "
                        f"more than max_bytes={max_bytes}"
                    )
                # as many rows as fit at this request's bytes per row (then fewer if needed)
                rows = max(1, min(rows - 1, rows * max_bytes // len(data)))
                data = self.encode(start, start + rows)
            yield data, rows
            start += rows


def _prepared(data: pa.Table | pa.RecordBatch, signal: Signal) -> pa.Table:
    """``data`` as a table of exactly ``signal``'s schema: as it is when it already is one
    (a cast of the nested columns costs more than the encoding)."""
    if data.schema.equals(schema_for(signal)):
        return pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    return conform(data, signal)


def arrow_to_otlp_bytes(table: pa.Table | pa.RecordBatch, signal: str) -> bytes:
    """Convert a table of a signal's schema to the serialized OTLP export request
    (``Export{Trace,Metrics,Logs}ServiceRequest``): the bytes that parse to exactly
    ``arrow_to_otlp(table, signal)``. Encoded natively from the Arrow buffers when the
    native core is available, with the GIL released.

    Raises :class:`~otlp_arrow.ConversionError` for a table that is not of the signal's
    schema (naming the column) or a value OTLP cannot carry.
    """
    return TableEncoder(table, signal).encode()


def iter_otlp_requests(
    table: pa.Table | pa.RecordBatch,
    signal: str,
    *,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> Iterator[bytes]:
    """Cut a table into serialized OTLP export requests of at most ``max_rows`` rows and at
    most ``max_bytes`` bytes each, in row order; their rows together are the table's. Each
    request groups its own rows' resources and scopes. A single row larger than
    ``max_bytes`` raises ConversionError."""
    for data, _ in TableEncoder(table, signal).pieces(max_rows, max_bytes):
        yield data

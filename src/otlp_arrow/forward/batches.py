"""Stored rows as forwarding requests: pure functions shared by the forwarder and replay."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from otlp_arrow.convert.to_bytes import TableEncoder
from otlp_arrow.schema import Signal


def requests_of(
    signal: Signal, batch: pa.RecordBatch | pa.Table, rows_per_request: int
) -> list[tuple[bytes, int]]:
    """``batch`` as serialized OTLP requests of at most ``rows_per_request`` rows:
    (request bytes, rows), encoded by ``arrow_to_otlp_bytes``'s encoder (native when built)."""
    return list(TableEncoder(batch, signal).pieces(max_rows=rows_per_request))


def numbered(batches: Iterator[pa.RecordBatch], first: int) -> Iterator[tuple[int, pa.RecordBatch]]:
    """``batches`` with the file's row number of their first row, counting from ``first``."""
    for batch in batches:
        yield first, batch
        first += batch.num_rows


def requests_after(
    batches: Iterator[tuple[int, pa.RecordBatch]], start: int, rows: int
) -> Iterator[tuple[int, pa.Table]]:
    """The rows from row ``start`` on, regrouped into tables of about ``rows`` rows (whole
    requests), each with the row number of its first row."""
    pending: list[pa.RecordBatch] = []
    count, first = 0, start
    for number, batch in batches:
        if number + batch.num_rows <= start:
            continue
        if number < start:
            batch = batch.slice(start - number)
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield first, pa.Table.from_batches(pending)
            first += count
            pending, count = [], 0
    if pending:
        yield first, pa.Table.from_batches(pending)

"""Read stored telemetry back: filtered tables, SQL over DuckDB views, and summaries.

    store = otlp_arrow.connect("otlp-arrow-data")
    store.traces(service="checkout", start=datetime(2026, 11, 25, 18, tzinfo=UTC))
    store.sql("SELECT name, count(*) FROM traces GROUP BY name")

Everything complete on disk is included, also the batches of files still being written.
Filters are applied batch by batch while reading, so only matching rows are kept in memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from otlp_arrow.errors import ConversionError
from otlp_arrow.schema import SIGNALS, TIMESTAMP, schema_for
from otlp_arrow.storage.reader import iter_batches, read_file, signal_files

#: The column each signal's time filters apply to.
TIME_COLUMN = {"traces": "start_time", "metrics": "time", "logs": "time"}


@dataclass(frozen=True)
class SignalSummary:
    signal: str
    rows: int
    files: int
    bytes: int
    first: datetime | None
    last: datetime | None
    top_services: list[tuple[str | None, int]]


class Store:
    """The telemetry under one output directory (see :func:`connect`)."""

    def __init__(self, output_dir: Path | str) -> None:
        self.output_dir = Path(output_dir)

    def traces(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        service: str | None = None,
        trace_id: bytes | str | None = None,
    ) -> pa.Table:
        """Spans, optionally only those starting in [start, end), of ``service``, or of the
        trace ``trace_id`` (bytes or hex)."""
        return self._read("traces", start, end, service, trace_id)

    def metrics(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        service: str | None = None,
    ) -> pa.Table:
        """Metric data points, optionally only those at times in [start, end) or of
        ``service``."""
        return self._read("metrics", start, end, service, None)

    def logs(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        service: str | None = None,
        trace_id: bytes | str | None = None,
    ) -> pa.Table:
        """Log records, optionally filtered like :meth:`traces`."""
        return self._read("logs", start, end, service, trace_id)

    def sql(self, query: str) -> pa.Table:
        """Run DuckDB SQL over the views ``traces``, ``metrics`` and ``logs``."""
        import duckdb

        con = duckdb.connect()
        try:
            for signal in SIGNALS:
                con.register(
                    signal, ds.dataset(self._batches(signal, None), schema=schema_for(signal))
                )
            try:
                result = con.sql(query)
            except duckdb.Error as exc:
                raise ConversionError(f"SQL error: {exc}") from exc
            if result is None:
                return pa.table({})
            arrow = result.arrow()
            return arrow.read_all() if isinstance(arrow, pa.RecordBatchReader) else arrow
        finally:
            con.close()

    def summary(self, top: int = 5) -> list[SignalSummary]:
        """Per signal: rows, files, bytes, time range and the services with most rows."""
        out = []
        for signal in SIGNALS:
            files = signal_files(self.output_dir, signal)
            table = pa.Table.from_batches(self._batches(signal, None), schema=schema_for(signal))
            times = table.column(TIME_COLUMN[signal])
            first = pc.min(times).as_py() if table.num_rows else None
            last = pc.max(times).as_py() if table.num_rows else None
            services: list[tuple[str | None, int]] = []
            if table.num_rows:
                counts = pc.value_counts(table.column("service_name").cast(pa.string()))
                pairs = [(c["values"].as_py(), c["counts"].as_py()) for c in counts]
                services = sorted(pairs, key=lambda p: -p[1])[:top]
            out.append(
                SignalSummary(
                    signal,
                    table.num_rows,
                    len(files),
                    sum(f.size for f in files),
                    first,
                    last,
                    services,
                )
            )
        return out

    def follow(
        self, signals: tuple[str, ...] = ("traces", "logs"), poll_s: float = 0.5
    ) -> Iterator[tuple[str, pa.RecordBatch]]:
        """Yield ``(signal, batch)`` for the rows written from now on (what is on disk already
        is skipped), polling every ``poll_s``; runs until the caller stops. A file is read again
        only when its size changed; a file sealed as Parquet is known by its name, so its rows
        are not shown twice."""
        seen: dict[Path, tuple[int, int]] = {}  # path without suffix -> (size, rows shown)

        def scan(emit: bool) -> Iterator[tuple[str, pa.RecordBatch]]:
            for signal in signals:
                for info in signal_files(self.output_dir, signal):
                    key = info.path.with_suffix("")
                    size, shown = seen.get(key, (-1, 0))
                    if info.size == size:
                        continue
                    rows = pa.Table.from_batches(list(read_file(info.path)), schema_for(signal))
                    seen[key] = (info.size, max(shown, rows.num_rows))
                    if emit and rows.num_rows > shown:
                        yield from ((signal, b) for b in rows.slice(shown).to_batches())

        for _ in scan(emit=False):
            pass
        while True:
            yield from scan(emit=True)
            time.sleep(poll_s)

    def _read(
        self,
        signal: str,
        start: datetime | None,
        end: datetime | None,
        service: str | None,
        trace_id: bytes | str | None,
    ) -> pa.Table:
        condition = _filter(signal, start, end, service, trace_id)
        return pa.Table.from_batches(self._batches(signal, condition), schema=schema_for(signal))

    def _batches(self, signal: str, condition: pc.Expression | None) -> list[pa.RecordBatch]:
        batches = []
        for batch in iter_batches(self.output_dir, signal):
            if condition is not None:
                batch = batch.filter(condition)
            if batch.num_rows:
                batches.append(batch)
        return batches


def connect(output_dir: Path | str) -> Store:
    """The telemetry stored under ``output_dir`` (by OtlpLibrary, the exporters or serve)."""
    return Store(output_dir)


def _filter(
    signal: str,
    start: datetime | None,
    end: datetime | None,
    service: str | None,
    trace_id: bytes | str | None,
) -> pc.Expression | None:
    parts = []
    column = pc.field(TIME_COLUMN[signal])
    if start is not None:
        parts.append(column >= pa.scalar(_aware(start, "start"), TIMESTAMP))
    if end is not None:
        parts.append(column < pa.scalar(_aware(end, "end"), TIMESTAMP))
    if service is not None:
        parts.append(pc.field("service_name") == service)
    if trace_id is not None:
        parts.append(pc.field("trace_id") == pa.scalar(_trace_id(trace_id), pa.binary(16)))
    if not parts:
        return None
    condition = parts[0]
    for part in parts[1:]:
        condition = condition & part
    return condition


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ConversionError(
            f"{name}={moment!r} has no time zone; pass an aware datetime "
            "(for example datetime(..., tzinfo=UTC))"
        )
    return moment


def _trace_id(value: bytes | str) -> bytes:
    raw: Any = value
    if isinstance(value, str):
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise ConversionError(f"trace_id={value!r} is not hex") from None
    if len(raw) != 16:
        raise ConversionError(f"trace_id must be 16 bytes (32 hex digits), got {len(raw)}")
    return bytes(raw)

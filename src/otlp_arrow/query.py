"""Read stored telemetry back: filtered tables, SQL over DuckDB views, and summaries.

    store = otlp_arrow.connect("otlp-arrow-data")
    store.traces(service="checkout", start=datetime(2026, 11, 25, 18, tzinfo=UTC))
    store.sql("SELECT name, count(*) FROM traces GROUP BY name")

Everything complete on disk is included, also the batches of files still being written.
Sealed (Parquet) files are scanned as a dataset: filters are pushed down to the row groups
(time ranges skip whole row groups by their statistics) and only matching rows are kept in
memory; DuckDB reads them natively in ``sql()``. The few live stream files are read whole.
Footers are kept between queries, and a lookup by trace id reads only the row groups whose
Bloom filter may hold it (``storage/footers.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from otlp_arrow.errors import ConfigError, ConversionError
from otlp_arrow.schema import SIGNALS, TIMESTAMP, Signal, schema_for
from otlp_arrow.storage.fs import FileInfo
from otlp_arrow.storage.layout import SEALED_SUFFIX
from otlp_arrow.storage.reader import follow, read_file
from otlp_arrow.storage.sources import Sources

log = logging.getLogger(__name__)
T = TypeVar("T")

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

    def __init__(self, output_dir: Path | str, spool_dir: Path | str | None = None) -> None:
        self.sources = Sources(output_dir, spool_dir)  # a bucket: with its spool (sources.py)
        self.output_dir = self.sources.output
        self._lock = threading.Lock()
        # per signal: live file -> (size, its batches), read again when the size changes
        self._live: dict[str, dict[Path, tuple[int, list[pa.RecordBatch]]]] = {}

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

        def run(con: Any) -> pa.Table:
            result = con.sql(query)
            if result is None:
                return pa.table({})
            arrow = result.arrow()
            return arrow.read_all() if isinstance(arrow, pa.RecordBatchReader) else arrow

        try:
            return self.with_duckdb(run)
        except duckdb.Error as exc:
            raise ConversionError(f"SQL error: {exc}") from exc

    def with_duckdb(self, work: Callable[[Any], T], *, trace_id: bytes | str | None = None) -> T:
        """``work(connection)`` on a fresh :meth:`duckdb` connection, closed afterwards; run
        once more on a new one if a file vanished meanwhile (deleted by retention)."""
        import duckdb

        for attempt in (1, 2):
            con = self.duckdb(trace_id=trace_id)
            try:
                return work(con)
            except duckdb.IOException:
                if attempt == 2:
                    raise
                log.debug("a file vanished while querying %s; asking again", self.output_dir)
            finally:
                con.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def duckdb(self, *, trace_id: bytes | str | None = None) -> Any:
        """A new DuckDB connection with the views ``traces``, ``metrics`` and ``logs`` over
        what is stored now (close it when done). Sealed files are read by DuckDB's own
        Parquet reader, objects in a bucket through pyarrow, the live files' batches as Arrow
        tables. With ``trace_id`` (questions about that one trace), objects are read only in
        the row groups whose Bloom filter may hold it: filter by it in every query."""
        import duckdb

        con = duckdb.connect()
        for signal in SIGNALS:
            sealed, remote_files, live = self._parts(signal)
            con.register(f"{signal}_live", pa.Table.from_batches(live, schema_for(signal)))
            parts = [f"SELECT * FROM {signal}_live"]
            remote = self.sources.sealed_dataset(
                remote_files, schema_for(signal), remote=True, where=_of_trace(signal, trace_id)
            )
            if remote is not None:  # objects: through pyarrow.fs (DuckDB scans the dataset)
                con.register(f"{signal}_remote", remote)
                parts.insert(0, f"SELECT * FROM {signal}_remote")
            if sealed:
                files = ", ".join("'" + str(f.path).replace("'", "''") + "'" for f in sealed)
                parts.insert(0, f"SELECT * FROM read_parquet([{files}], hive_partitioning = false)")
            con.execute(f"CREATE VIEW {signal} AS " + " UNION ALL BY NAME ".join(parts))
        return con

    def dataset(self, signal: str, *, trace_id: bytes | str | None = None) -> ds.Dataset:
        """A ``pyarrow.dataset`` over what is stored now: the sealed files, scanned lazily
        (their footers kept between calls), and the complete batches of the live ones. With
        ``trace_id``, of the sealed files only the row groups whose Bloom filter may hold it
        (a superset of that trace's rows: filter them still)."""
        sealed, remote, live = self._parts(signal)
        schema, where = schema_for(signal), _of_trace(signal, trace_id)
        parts: list[ds.Dataset] = [ds.dataset(live, schema=schema)]
        for files, is_remote in ((sealed, False), (remote, True)):
            part = self.sources.sealed_dataset(files, schema, remote=is_remote, where=where)
            if part is not None:
                parts.insert(0, part)
        return ds.dataset(parts) if len(parts) > 1 else parts[0]

    def summary(self, top: int = 5) -> list[SignalSummary]:
        """Per signal: rows, files, bytes, time range and the services with most rows."""
        con = self.duckdb()
        try:
            out = []
            for signal in SIGNALS:
                files = self.sources.files(signal).all
                time_column = TIME_COLUMN[signal]
                rows, first, last = con.sql(
                    f"SELECT count(*), min({time_column}), max({time_column}) FROM {signal}"
                ).fetchall()[0]
                services = con.sql(
                    f"SELECT service_name, count(*) AS n FROM {signal} "
                    f"GROUP BY service_name ORDER BY n DESC, service_name LIMIT {int(top)}"
                ).fetchall()
                out.append(
                    SignalSummary(
                        signal,
                        rows,
                        len(files),
                        sum(f.size for f in files),
                        _utc(first),
                        _utc(last),
                        [(name, n) for name, n in services],
                    )
                )
            return out
        finally:
            con.close()

    def follow(
        self, signals: tuple[Signal, ...] = ("traces", "logs"), poll_s: float = 0.5
    ) -> Iterator[tuple[Signal, pa.RecordBatch]]:
        """Yield ``(signal, batch)`` for the rows written from now on, polling every
        ``poll_s``; runs until the caller stops. What is on disk when ``follow`` is called is
        skipped (it takes stock before it returns); sealed rows are not shown twice."""
        return follow(self.sources.roots(), signals, poll_s)

    def _read(
        self,
        signal: str,
        start: datetime | None,
        end: datetime | None,
        service: str | None,
        trace_id: bytes | str | None,
    ) -> pa.Table:
        condition = _filter(signal, start, end, service, trace_id)
        try:
            return self.dataset(signal, trace_id=trace_id).to_table(filter=condition)
        except FileNotFoundError:  # pragma: no cover - a spool file uploaded meanwhile: again
            return self.dataset(signal, trace_id=trace_id).to_table(filter=condition)

    def _parts(self, signal: str) -> tuple[list[FileInfo], list[FileInfo], list[pa.RecordBatch]]:
        """The local sealed files, the objects in the bucket, and the batches of the live
        files (cached while their size stays the same)."""
        sealed: list[FileInfo] = []
        live: list[pa.RecordBatch] = []
        listing = self.sources.files(signal)
        with self._lock:
            cached = self._live.get(signal, {})
            current = {}
            for info in listing.local:
                if info.path.suffix == SEALED_SUFFIX:
                    sealed.append(info)
                    continue
                size, batches = cached.get(info.path, (-1, []))
                if size != info.size:
                    batches = list(read_file(info.path))
                current[info.path] = (info.size, batches)
                live.extend(batches)
            self._live[signal] = current
        return sealed, listing.remote, live


def connect(output_dir: Path | str, spool_dir: Path | str | None = None) -> Store:
    """The telemetry stored under ``output_dir`` (by OtlpLibrary, the exporters or serve): a
    directory, or ``s3://bucket/prefix`` together with the spool on this machine
    (``spool_dir``, by default the writer's default one)."""
    return Store(output_dir, spool_dir)


def _of_trace(signal: str, trace_id: bytes | str | None) -> tuple[str, bytes] | None:
    """The row-group pruning of a lookup by ``trace_id`` (None: none, or the signal has no
    trace ids), for ``Sources.sealed_dataset``."""
    if trace_id is None or "trace_id" not in schema_for(signal).names:
        return None
    return ("trace_id", parse_trace_id(trace_id))


def time_filter(signal: str, start: datetime | None, end: datetime | None) -> pc.Expression | None:
    """The filter for the signal's time column in [start, end) (None: everything)."""
    return _filter(signal, start, end, None, None)


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
        parts.append(pc.field("trace_id") == pa.scalar(parse_trace_id(trace_id), pa.binary(16)))
    if not parts:
        return None
    condition = parts[0]
    for part in parts[1:]:
        condition = condition & part
    return condition


def _utc(moment: datetime | None) -> datetime | None:
    """DuckDB gives times in the session's zone; show them in UTC."""
    return moment.astimezone(UTC) if moment is not None else None


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ConversionError(
            f"{name}={moment!r} has no time zone; pass an aware datetime "
            "(for example datetime(..., tzinfo=UTC))"
        )
    return moment


def parse_trace_id(value: bytes | str, name: str = "trace_id") -> bytes:
    """A trace id given as 16 bytes or 32 hex digits; ConversionError naming ``name``."""
    raw: Any = value
    if isinstance(value, str):
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise ConversionError(f"{name}={value!r} is not hex: expected 32 hex digits") from None
    if len(raw) != 16:
        raise ConversionError(f"{name} must be 16 bytes (32 hex digits), got {len(raw)}")
    return bytes(raw)


def to_polars(table: pa.Table) -> Any:
    """``table`` as a ``polars.DataFrame`` (needs ``pip install polars``)."""
    try:
        import polars
    except ImportError:
        raise ConfigError("to_polars() needs Polars: pip install polars") from None
    return polars.from_arrow(table)


def to_pandas(table: pa.Table) -> Any:
    """``table`` as a ``pandas.DataFrame`` (needs ``pip install pandas``); ids stay bytes,
    times become timezone-aware timestamps."""
    try:
        import pandas  # noqa: F401 - only to give a clear error when it is missing
    except ImportError:
        raise ConfigError("to_pandas() needs pandas: pip install pandas") from None
    return table.to_pandas()

"""``OtlpLibrary``: the embedded API and the composition root of the in-process path."""

from __future__ import annotations

import atexit
import dataclasses
import logging
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa
from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.trace import ReadableSpan

from otlp_arrow.config import Config
from otlp_arrow.convert import Converted, convert_request
from otlp_arrow.convert.from_sdk import convert_sdk
from otlp_arrow.errors import (
    BufferFullError,
    ClosedError,
    ConfigError,
    InputTypeError,
    OtlpArrowError,
    StorageError,
)
from otlp_arrow.pipeline import Durability, Pipeline, PipelineStats
from otlp_arrow.schema import SIGNALS, Signal, conform
from otlp_arrow.storage.objects import open_bucket
from otlp_arrow.storage.retention import RetentionPolicy
from otlp_arrow.storage.upload import FinalHook, Uploader, UploadStats
from otlp_arrow.storage.writer import Writer

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import AggregationTemporality
    from opentelemetry.sdk.metrics.view import Aggregation

    from otlp_arrow.exporters import OtlpLogExporter, OtlpMetricExporter, OtlpSpanExporter
    from otlp_arrow.forward.forwarder import ForwardStats

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MS = 30_000

# Libraries not shut down yet: shut down at interpreter exit, as the OpenTelemetry SDK does with
# its providers, so a program that just ends still writes everything and closes its files.
_RUNNING: weakref.WeakSet[OtlpLibrary] = weakref.WeakSet()


@atexit.register
def _shutdown_at_exit() -> None:
    for library in list(_RUNNING):
        try:
            library.shutdown()
        except OtlpArrowError as exc:
            log.error("otlp-arrow could not write everything at exit: %s", exc)


@dataclass
class LibraryStats(PipelineStats):
    """The pipeline's counters, the writer's files, and the forwarder's numbers."""

    files_opened: dict[Signal, int] = field(default_factory=dict)
    files_deleted: int = 0
    rows_deleted: dict[Signal, int] = field(default_factory=dict)  # by retention
    files_sealed: int = 0
    seal_errors: int = 0
    forward: ForwardStats | None = None
    upload: UploadStats | None = None  # with an object-store output


class OtlpLibrary:
    """Keep OpenTelemetry data as Arrow files, in-process.

    ``OtlpLibrary(config=None, **overrides)``: settings come from ``config`` (or
    ``Config.load()``: environment, YAML file, defaults) with ``overrides`` applied on top,
    e.g. ``OtlpLibrary(output_dir="data", write_interval="200ms")``. Thread-safe. Use it as a
    context manager, or call :meth:`shutdown` when done.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        on_file_final: FinalHook | None = None,
        **overrides: Any,
    ) -> None:
        self.config = config = Config.of(config, **overrides)
        if config.local_dir.is_file():  # not a passing fault (a disk full or gone is retried)
            raise StorageError(f"{config.local_dir} is not a directory", config.local_dir)
        self._forwarder = None
        self._uploader = open_uploader(config, on_file_final)
        if config.forward_endpoint:
            from otlp_arrow.forward.forwarder import Forwarder

            self._forwarder = Forwarder(config)
        try:
            self._writer = Writer(
                config.local_dir,
                config.rotation,
                config.ipc_compression,
                {} if self._uploader else file_retention(config),
                config.retention_interval,
                seal_files=config.seal == "parquet",
                on_written=self._forwarder.nudge if self._forwarder else None,
                sync=self.durability == "synced",
                retention_guard=self._forwarder,
                on_sealed=sealed_hook(config, self._uploader, on_file_final),
            )
            self._pipeline = Pipeline(
                self._writer,
                max_rows=config.max_buffer_rows,
                max_bytes=config.max_buffer_bytes,
                batch_rows=config.batch_rows,
                write_interval_s=config.write_interval,
                durability=self.durability,
            )
        except BaseException:  # the forwarder holds a lease and runs a thread: stop it
            if self._forwarder is not None:
                self._forwarder.close(0)
            if self._uploader is not None:
                self._uploader.close(0)
            raise
        self._shut_down = False
        _RUNNING.add(self)
        log.debug("otlp-arrow writing to %s", config.output_dir)

    @property
    def durability(self) -> Durability:
        """What a returning export means (setting ``durability``; in-process the default is
        ``buffered``: exports return once the rows are in memory)."""
        return cast(Durability, self.config.durability or "buffered")

    @property
    def writable(self) -> bool:
        """False while writes fail (the last write round failed)."""
        return self._pipeline.writable

    @property
    def output_dir(self) -> Path | str:
        """The output: a local directory, or an object-store URI (see ``spool_dir``)."""
        return self.config.output_dir

    @property
    def is_shut_down(self) -> bool:
        return self._shut_down

    def span_exporter(self) -> OtlpSpanExporter:
        """An SDK ``SpanExporter`` writing into this library."""
        from otlp_arrow.exporters import OtlpSpanExporter

        return OtlpSpanExporter(self)

    def metric_exporter(
        self,
        temporality: str | Mapping[type, AggregationTemporality] | None = None,
        preferred_aggregation: Mapping[type, Aggregation] | None = None,
    ) -> OtlpMetricExporter:
        """An SDK ``MetricExporter`` writing into this library (see OtlpMetricExporter)."""
        from otlp_arrow.exporters import OtlpMetricExporter

        return OtlpMetricExporter(
            self, temporality=temporality, preferred_aggregation=preferred_aggregation
        )

    def log_exporter(self) -> OtlpLogExporter:
        """An SDK ``LogRecordExporter`` writing into this library."""
        from otlp_arrow.exporters import OtlpLogExporter

        return OtlpLogExporter(self)

    def export_traces(self, data: Any) -> int:
        """Store SDK ``ReadableSpan``s, an ``ExportTraceServiceRequest``, or a table/batch of
        the traces schema. Returns the number of rows accepted."""
        return self._export("traces", data)

    def export_trace(self, span: ReadableSpan) -> int:
        """Store one SDK ``ReadableSpan``."""
        if not isinstance(span, ReadableSpan):
            raise InputTypeError(
                f"export_trace: expected a ReadableSpan, got {type(span).__module__}."
                f"{type(span).__qualname__}"
            )
        return self._export("traces", [span])

    def export_metrics(self, data: Any) -> int:
        """Store SDK ``MetricsData``, an ``ExportMetricsServiceRequest``, or a table/batch of
        the metrics schema."""
        return self._export("metrics", data)

    def export_metrics_ref(self, metrics_data: MetricsData) -> int:
        """Store SDK ``MetricsData``, converted straight to Arrow; no reference to any SDK
        object is kept once this returns, so the SDK may reuse its objects at once. Stores
        the same rows as ``export_metrics``. Raises TypeError for anything but MetricsData."""
        if not isinstance(metrics_data, MetricsData):
            raise InputTypeError(
                "export_metrics_ref: expected opentelemetry.sdk.metrics.export.MetricsData, "
                f"got {type(metrics_data).__module__}.{type(metrics_data).__qualname__}"
                + (
                    "; use export_metrics for OTLP requests and tables"
                    if not isinstance(metrics_data, dict)
                    else ""
                )
            )
        return self._export("metrics", metrics_data)

    def export_logs(self, data: Any) -> int:
        """Store SDK ``ReadableLogRecord``s, an ``ExportLogsServiceRequest``, or a table/batch
        of the logs schema."""
        return self._export("logs", data)

    def flush(self, timeout_millis: int = DEFAULT_TIMEOUT_MS) -> bool:
        """Write everything exported so far. True once it is readable from the files; False if
        the timeout passed first. Raises StorageError if writing fails (data is kept and
        retried)."""
        if self._shut_down:
            return True
        return self._pipeline.flush(timeout_millis / 1000)

    def shutdown(self, timeout_millis: int = DEFAULT_TIMEOUT_MS) -> None:
        """Write what is buffered, close every file with its end-of-stream marker, stop.
        Further exports raise ClosedError. Calling it again does nothing."""
        if self._shut_down:
            return
        self._shut_down = True
        _RUNNING.discard(self)
        try:  # the timeout bounds writing the buffered rows, not sealing the closed files
            self._pipeline.close(timeout_millis / 1000)
        finally:
            self._writer.finish_sealing()
        if self._uploader is not None:  # what it cannot upload in time waits in the spool
            self._uploader.close(timeout_millis / 1000)
        if self._forwarder is not None:  # drains for at most forward_timeout, saves the cursor
            self._forwarder.close(min(timeout_millis / 1000, self.config.forward_timeout))

    def counters(self) -> LibraryStats:
        """The typed numbers behind :meth:`stats` (and ``GET /metrics``)."""
        snap: PipelineStats = self._pipeline.snapshot()
        return LibraryStats(
            **vars(snap),
            files_opened={s: w.files_written for s, w in self._writer.writers.items()},
            files_deleted=self._writer.files_deleted,
            rows_deleted=dict(self._writer.rows_deleted),
            files_sealed=self._writer.files_sealed,
            seal_errors=self._writer.seal_errors,
            forward=self._forwarder.stats() if self._forwarder else None,
            upload=self._uploader.stats() if self._uploader else None,
        )

    def stats(self) -> dict[str, Any]:
        """Counters: rows accepted / written / refused per signal, buffer fill, files, and
        ``"forward"`` (None without forwarding), as plain dicts."""
        return dataclasses.asdict(self.counters())

    def __enter__(self) -> OtlpLibrary:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "shut down" if self._shut_down else "running"
        return f"OtlpLibrary(output_dir={str(self.output_dir)!r}, {state})"

    def accept_converted(self, converted: Converted) -> None:
        """Take a request the receivers converted already (raises BufferFullError,
        ClosedError like the exports)."""
        if self._shut_down:
            raise ClosedError("OtlpLibrary is shut down")
        if converted.batch.num_rows:
            self._submit(converted.signal, converted.batch)

    def _export(self, signal: Signal, data: Any) -> int:
        if self._shut_down:
            raise ClosedError(f"OtlpLibrary is shut down; cannot export {signal}")
        batch = to_batch(signal, data)
        if batch is not None:
            self._submit(signal, batch)
        return 0 if batch is None else int(batch.num_rows)

    def _submit(self, signal: Signal, batch: pa.RecordBatch) -> None:
        if self._uploader is not None and self._uploader.full:  # the pipeline's "full" path
            refused = self._pipeline.stats.rows_refused
            refused[signal] = refused.get(signal, 0) + batch.num_rows
            failing = self._uploader.last_error
            raise BufferFullError(
                f"spool full: {self._uploader.spool_bytes} bytes wait for upload to "
                f"{self.config.remote} (spool_max_bytes={self.config.spool_max_bytes}); "
                f"{batch.num_rows} {signal} rows not accepted, retry later"
                + (f" (uploads fail: {failing})" if failing else "")
            )
        self._pipeline.submit(signal, batch)


#: What ``export_<signal>`` takes besides a table, for its error message.
_ACCEPTED = {
    "traces": "SDK ReadableSpans, an ExportTraceServiceRequest",
    "metrics": "SDK MetricsData, an ExportMetricsServiceRequest",
    "logs": "SDK ReadableLogRecords, an ExportLogsServiceRequest",
}


def to_batch(signal: Signal, data: Any) -> pa.RecordBatch | None:
    """Convert what an export received to one record batch of ``signal``'s schema (None when
    there are no rows)."""
    if isinstance(data, pa.Table | pa.RecordBatch):
        table = conform(data, signal)
        return table.combine_chunks().to_batches()[0] if table.num_rows else None
    try:
        converted = convert_sdk(signal, data)
    except InputTypeError as exc:  # a sequence with an item of another type: which one
        raise InputTypeError(f"export_{signal}: {exc}") from None
    if converted is None:
        try:
            converted = convert_request(data)
        except InputTypeError:
            raise InputTypeError(
                f"export_{signal}: expected {_ACCEPTED[signal]} or a pyarrow Table/RecordBatch "
                f"of the {signal} schema, got {type(data).__module__}.{type(data).__qualname__}"
            ) from None
    if converted.signal != signal:
        raise InputTypeError(
            f"export_{signal} got a {converted.signal} request; use export_{converted.signal}"
        )
    return converted.batch if converted.batch.num_rows else None


def open_uploader(config: Config, on_final: FinalHook | None) -> Uploader | None:
    """The uploader of an object-store output (None for a local one), once the bucket is
    checked: StorageError naming a missing bucket or refused credentials."""
    if config.remote is None:
        return None
    if config.seal != "parquet":
        raise ConfigError(f"output_dir={config.remote}: object storage needs seal=parquet")
    if config.forward_endpoint:
        raise ConfigError(
            f"output_dir={config.remote}: forwarding reads a local output_dir; it does not "
            "work with object storage yet"
        )
    bucket = open_bucket(config.remote)
    bucket.check()
    return Uploader(
        bucket,
        config.local_dir,
        max_bytes=config.spool_max_bytes,
        on_final=on_final,
        retention=file_retention(config),
        retention_interval_s=config.retention_interval,
        retry_max_s=config.upload_retry_max,
    )


def file_retention(config: Config) -> dict[Signal, RetentionPolicy]:
    """Retention on the files, by signal; none under Iceberg tables (``iceberg_catalog``):
    the tables' retention removes files from them first (``otlp_arrow.lake.retention``)."""
    if config.iceberg_catalog:
        return {}
    return {signal: config.retention(signal) for signal in SIGNALS}


def sealed_hook(
    config: Config, uploader: Uploader | None, on_final: FinalHook | None
) -> Callable[[Path], None] | None:
    """What the sealer tells of each sealed file: the uploader (object storage), or the
    final-location hook (a local output: the sealed file is in its final place)."""
    if uploader is not None:
        return uploader.nudge
    if on_final is None:
        return None
    hook = on_final
    root = config.local_dir

    def sealed(path: Path) -> None:
        signal = cast(Signal, path.relative_to(root).parts[0])
        hook(signal, str(path.resolve()), path)

    return sealed

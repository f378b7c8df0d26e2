"""OpenTelemetry SDK exporters that write into an :class:`~otlp_arrow.OtlpLibrary`.

Thin shells over one delivery helper: they never raise into the application (a failure is
the SDK's FAILURE result plus one warning per kind of failure), they suppress
instrumentation while exporting, and their ``shutdown`` never shuts the library down (several
exporters may share one). Registered under the SDK's entry points as ``otlp_arrow``, so
``OTEL_TRACES_EXPORTER=otlp_arrow`` works with zero code; then the three exporters share one
library configured by the ``OTLP_ARROW_*`` environment variables.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value
from opentelemetry.metrics import Instrument
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.metrics.view import Aggregation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otlp_arrow.errors import ConfigError
from otlp_arrow.library import OtlpLibrary

log = logging.getLogger(__name__)

_CUMULATIVE = AggregationTemporality.CUMULATIVE
_DELTA = AggregationTemporality.DELTA
#: The presets of OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, as the OTLP exporter has.
TEMPORALITY_PRESETS: dict[str, dict[type, AggregationTemporality]] = {
    "cumulative": {
        Counter: _CUMULATIVE,
        UpDownCounter: _CUMULATIVE,
        Histogram: _CUMULATIVE,
        ObservableCounter: _CUMULATIVE,
        ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
    "delta": {
        Counter: _DELTA,
        UpDownCounter: _CUMULATIVE,
        Histogram: _DELTA,
        ObservableCounter: _DELTA,
        ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
    "lowmemory": {
        Counter: _DELTA,
        UpDownCounter: _CUMULATIVE,
        Histogram: _DELTA,
        ObservableCounter: _CUMULATIVE,
        ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
}

_default_lock = threading.Lock()
_default: OtlpLibrary | None = None


def default_library() -> OtlpLibrary:
    """The library the exporters use when given none (zero-code setup): one per process,
    configured from ``OTLP_ARROW_*`` / the YAML file, shut down at interpreter exit."""
    global _default
    with _default_lock:
        if _default is None or _default.is_shut_down:
            _default = OtlpLibrary()
        return _default


class _ExportGuard:
    """Exports into the library for one exporter: never raises, logs once per failure kind."""

    def __init__(self, library: OtlpLibrary | None, what: str) -> None:
        self.library = library if library is not None else default_library()
        self.what = what
        self.shut_down = False
        self._failing: type[BaseException] | None = None
        self._lock = threading.Lock()

    def export(self, action: Callable[[OtlpLibrary], object]) -> bool:
        if self.shut_down:
            self._failed(RuntimeError(f"the {self.what} exporter is shut down"))
            return False
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            action(self.library)
        except Exception as exc:  # an exporter must never raise into the application
            self._failed(exc)
            return False
        finally:
            detach(token)
        self._recovered()
        return True

    def flush(self, timeout_millis: int) -> bool:
        try:
            done = self.library.flush(timeout_millis)
        except Exception as exc:  # reported as False plus one log line, never raised
            self._failed(exc)
            return False
        if not done:
            log.warning(
                "otlp-arrow: %s flush did not finish within %d ms", self.what, timeout_millis
            )
        return done

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            repeated = type(exc) is self._failing
            self._failing = type(exc)
        log.log(
            logging.DEBUG if repeated else logging.WARNING,
            "otlp-arrow could not export %s: %s: %s",
            self.what,
            type(exc).__name__,
            exc,
        )

    def _recovered(self) -> None:
        if self._failing is not None:
            with self._lock:
                self._failing = None
            log.info("otlp-arrow exports %s again", self.what)


class OtlpSpanExporter(SpanExporter):
    """A ``SpanExporter`` writing into ``library`` (default: the shared zero-code library)."""

    def __init__(self, library: OtlpLibrary | None = None) -> None:
        self._delivery = _ExportGuard(library, "spans")

    @property
    def library(self) -> OtlpLibrary:
        return self._delivery.library

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = self._delivery.export(lambda library: library.export_traces(list(spans)))
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._delivery.flush(timeout_millis)

    def shutdown(self) -> None:
        """Stop this exporter; the library stays up (``library.shutdown()`` is the owner's)."""
        self._delivery.shut_down = True


class OtlpLogExporter(LogRecordExporter):
    """A ``LogRecordExporter`` writing into ``library`` (default: the shared library)."""

    def __init__(self, library: OtlpLibrary | None = None) -> None:
        self._delivery = _ExportGuard(library, "logs")

    @property
    def library(self) -> OtlpLibrary:
        return self._delivery.library

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        ok = self._delivery.export(lambda library: library.export_logs(list(batch)))
        return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._delivery.flush(timeout_millis)

    def shutdown(self) -> None:
        self._delivery.shut_down = True


class OtlpMetricExporter(MetricExporter):
    """A ``MetricExporter`` writing into ``library`` (default: the shared library).

    ``temporality``: ``"cumulative"`` (default, or the ``metrics_temporality`` setting),
    ``"delta"`` or ``"lowmemory"`` as ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``
    means them, or a mapping from instrument class to ``AggregationTemporality`` (applied over
    the cumulative preset). ``preferred_aggregation`` is passed to the SDK as it is.
    """

    def __init__(
        self,
        library: OtlpLibrary | None = None,
        *,
        temporality: str | Mapping[type, AggregationTemporality] | None = None,
        preferred_aggregation: Mapping[type, Aggregation] | None = None,
    ) -> None:
        self._delivery = _ExportGuard(library, "metrics")
        super().__init__(
            preferred_temporality=_temporality(
                temporality
                if temporality is not None
                else self._delivery.library.config.metrics_temporality
            ),
            preferred_aggregation=dict(preferred_aggregation or {}),
        )

    @property
    def library(self) -> OtlpLibrary:
        return self._delivery.library

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        ok = self._delivery.export(lambda library: library.export_metrics_ref(metrics_data))
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._delivery.flush(int(timeout_millis))

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._delivery.shut_down = True


def _temporality(
    choice: str | Mapping[type, AggregationTemporality],
) -> dict[type, AggregationTemporality]:
    if isinstance(choice, str):
        preset = TEMPORALITY_PRESETS.get(choice.strip().lower())
        if preset is None:
            raise ConfigError(
                f"temporality={choice!r} is not valid: expected one of "
                f"{', '.join(TEMPORALITY_PRESETS)} or a mapping of instrument classes"
            )
        return dict(preset)
    base = TEMPORALITY_PRESETS["cumulative"]
    if not isinstance(choice, Mapping):
        raise ConfigError(
            f"temporality={choice!r} is not valid: expected one of "
            f"{', '.join(TEMPORALITY_PRESETS)} or a mapping of instrument classes"
        )
    usable = (AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA)
    for kind, value in choice.items():
        name = getattr(kind, "__name__", repr(kind))
        if not (isinstance(kind, type) and issubclass(kind, Instrument)):
            raise ConfigError(
                f"temporality[{name}]: not an instrument class of the SDK (such as "
                f"{', '.join(k.__name__ for k in base)})"
            )
        if value not in usable:
            raise ConfigError(
                f"temporality[{name}]={value!r}: expected an AggregationTemporality, "
                "CUMULATIVE or DELTA"
            )
    return {**base, **choice}

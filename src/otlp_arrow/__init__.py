"""otlp-arrow: keep OpenTelemetry traces, metrics and logs losslessly as Apache Arrow files.

The public API is what ``__all__`` lists; everything else is private and may change.
"""

from otlp_arrow._version import __version__
from otlp_arrow.config import Config
from otlp_arrow.convert import arrow_to_otlp, otlp_to_arrow
from otlp_arrow.errors import (
    BufferFullError,
    ClosedError,
    ConfigError,
    ConversionError,
    InputTypeError,
    OtlpArrowError,
    ReceiverError,
    StorageError,
)
from otlp_arrow.exporters import OtlpLogExporter, OtlpMetricExporter, OtlpSpanExporter
from otlp_arrow.library import OtlpLibrary
from otlp_arrow.query import Store, connect, to_pandas, to_polars
from otlp_arrow.schema import (
    LOGS_SCHEMA,
    METRICS_SCHEMA,
    SCHEMA_VERSION,
    TRACES_SCHEMA,
    schema_for,
)
from otlp_arrow.service import Service
from otlp_arrow.storage.reader import read_table

__all__ = [
    "BufferFullError",
    "ClosedError",
    "Config",
    "ConfigError",
    "ConversionError",
    "InputTypeError",
    "LOGS_SCHEMA",
    "METRICS_SCHEMA",
    "OtlpArrowError",
    "OtlpLibrary",
    "OtlpLogExporter",
    "OtlpMetricExporter",
    "OtlpSpanExporter",
    "ReceiverError",
    "SCHEMA_VERSION",
    "Service",
    "StorageError",
    "Store",
    "TRACES_SCHEMA",
    "__version__",
    "arrow_to_otlp",
    "connect",
    "otlp_to_arrow",
    "read_table",
    "schema_for",
    "to_pandas",
    "to_polars",
]

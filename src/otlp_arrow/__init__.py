"""otlp-arrow: keep OpenTelemetry traces, metrics and logs losslessly as Apache Arrow files.

The public API is what ``__all__`` lists; everything else is private and may change.
Names whose modules are heavy (the service with gRPC and uvicorn, the query API with DuckDB)
load on first use, so ``import otlp_arrow.exporters`` — the zero-code entry point that runs
inside users' applications — does not import the network stack.
"""

import importlib as _importlib
import typing as _typing

from otlp_arrow._version import __version__
from otlp_arrow.config import Config
from otlp_arrow.convert import arrow_to_otlp, otlp_to_arrow
from otlp_arrow.convert.to_bytes import arrow_to_otlp_bytes, iter_otlp_requests
from otlp_arrow.errors import (
    BufferFullError,
    ClosedError,
    ConfigError,
    ConversionError,
    EndpointError,
    InputTypeError,
    OtlpArrowError,
    ReceiverError,
    StorageError,
)
from otlp_arrow.exporters import OtlpLogExporter, OtlpMetricExporter, OtlpSpanExporter
from otlp_arrow.library import OtlpLibrary
from otlp_arrow.schema import (
    LOGS_SCHEMA,
    METRICS_SCHEMA,
    SCHEMA_VERSION,
    TRACES_SCHEMA,
    schema_for,
)
from otlp_arrow.storage.reader import read_table

if _typing.TYPE_CHECKING:
    from otlp_arrow.query import Store, connect, to_pandas, to_polars
    from otlp_arrow.service import Service

#: public name -> the module that defines it, imported on first access
_LAZY = {
    "Service": "otlp_arrow.service",
    "Store": "otlp_arrow.query",
    "connect": "otlp_arrow.query",
    "to_pandas": "otlp_arrow.query",
    "to_polars": "otlp_arrow.query",
}

__all__ = [
    "BufferFullError",
    "ClosedError",
    "Config",
    "ConfigError",
    "ConversionError",
    "EndpointError",
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
    "arrow_to_otlp_bytes",
    "connect",
    "iter_otlp_requests",
    "otlp_to_arrow",
    "read_table",
    "schema_for",
    "to_pandas",
    "to_polars",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'otlp_arrow' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

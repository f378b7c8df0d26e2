"""The bridge to the native core (``otlp_arrow._native``, Rust): serialized OTLP protobuf
and OTLP/JSON requests straight to Arrow, without Python objects per item and with the GIL released.

When the extension cannot be imported (a source install without Rust, an unsupported
platform) or ``OTLP_ARROW_NATIVE=0`` is set, one warning is logged and the same function
takes the reference route: protobuf ``FromString`` (upb), then the Python converter. Both
routes give identical tables; a differential test holds them together.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType
from typing import Any, Final

import numpy as np
import pyarrow as pa
from google.protobuf.message import DecodeError

from otlp_arrow.convert._columns import Converted
from otlp_arrow.convert.from_otlp import logs_to_arrow, metrics_to_arrow, traces_to_arrow
from otlp_arrow.errors import ConversionError, InputTypeError
from otlp_arrow.otlp.services import SERVICES
from otlp_arrow.schema import Signal, schema_for

log = logging.getLogger(__name__)

#: The request message of each signal (the fallback route parses with it): the OTLP table's.
REQUEST_TYPES: Final[dict[str, Any]] = {s: service.request for s, service in SERVICES.items()}
_PYTHON_CONVERTERS: Final[dict[str, Any]] = {
    "traces": traces_to_arrow,
    "metrics": metrics_to_arrow,
    "logs": logs_to_arrow,
}


def _load() -> tuple[ModuleType | None, str]:
    """The native module, or None and why not."""
    if os.environ.get("OTLP_ARROW_NATIVE", "").strip() == "0":
        return None, "disabled by OTLP_ARROW_NATIVE=0"
    try:  # by name: the extension exists only once built, and has no stubs
        native = importlib.import_module("otlp_arrow._native")
    except ImportError as exc:
        return None, f"otlp_arrow._native cannot be imported: {exc}"
    return native, "in use"


_NATIVE, _REASON = _load()
#: The signals the native core decodes (others take the Python route).
NATIVE_SIGNALS: Final[frozenset[str]] = frozenset(_NATIVE.SIGNALS if _NATIVE else ())
#: The signals the native core encodes (Arrow -> OTLP bytes; others take the Python route).
ENCODE_SIGNALS: Final[frozenset[str]] = frozenset(
    getattr(_NATIVE, "ENCODE_SIGNALS", ()) if _NATIVE else ()
)
if _NATIVE is None:
    log.warning("native core not used (%s): OTLP bytes take the Python converter", _REASON)


def native_status() -> str:
    """One line for ``otlp-arrow --version``: is the native core in use, and for what."""
    if _NATIVE is None:
        return f"native core: off ({_REASON})"
    return f"native core: on ({', '.join(sorted(NATIVE_SIGNALS))})"


def uses_native(signal: str) -> bool:
    """True when bytes of ``signal`` are decoded by the native core."""
    return signal in NATIVE_SIGNALS


def convert_bytes(data: Any, signal: str, *, strict: bool = True) -> Converted:
    """Convert a serialized OTLP export request of ``signal`` ("traces", "metrics", "logs").

    ``data`` is ``bytes``, ``bytearray`` or ``memoryview`` (mutable input is copied first).
    The result is what ``convert_request(Request.FromString(data), strict=strict)`` gives;
    input that is not a valid request raises ConversionError saying where.
    """
    schema = schema_for(signal)
    data = _as_bytes(data, text=False)
    if _NATIVE is None or signal not in NATIVE_SIGNALS:
        return _convert_python(data, signal, strict=strict)
    try:
        decoded = _NATIVE.decode(signal, data)
    except ValueError as exc:
        raise ConversionError(f"invalid OTLP protobuf {signal} request: {exc}") from None
    return _imported(decoded, schema, strict=strict)


def convert_sdk_spans(spans: list[Any]) -> Converted | None:
    """SDK ``ReadableSpan``s read by the native core (``native/src/sdk_spans.rs``): the table
    the Python collector (``from_sdk.spans_to_arrow``) gives for them; None when the native
    core is off, or leaves these spans to the collector (values it is not sure of)."""
    return _sdk("traces", "sdk_spans", spans)


def convert_sdk_metrics(data: Any) -> Converted | None:
    """An SDK ``MetricsData`` read by the native core (``native/src/sdk_metrics.rs``), as
    :func:`convert_sdk_spans` (the collector: ``from_sdk.metrics_to_arrow``)."""
    return _sdk("metrics", "sdk_metrics", data)


def convert_sdk_logs(records: list[Any]) -> Converted | None:
    """SDK ``ReadableLogRecord``s read by the native core (``native/src/sdk_logs.rs``), as
    :func:`convert_sdk_spans` (the collector: ``from_sdk.logs_to_arrow``)."""
    return _sdk("logs", "sdk_logs", records)


def _sdk(signal: Signal, reader: str, data: Any) -> Converted | None:
    if _NATIVE is None or signal not in NATIVE_SIGNALS:
        return None
    decoded = getattr(_NATIVE, reader)(data)
    return None if decoded is None else _imported(decoded, schema_for(signal), strict=True)


def _imported(decoded: Any, schema: pa.Schema, *, strict: bool) -> Converted:
    """The native core's ``(array, bad_rows, first_error)`` as a Converted: bad rows refused
    (strict) or left out and counted (partial), as the Python converters do."""
    exported, bad_rows, error = decoded
    batch = pa.RecordBatch._import_from_c(exported.address, schema)
    typed: Signal = schema.metadata[b"otlp_arrow.signal"].decode()
    if not bad_rows:
        return Converted(typed, batch)
    if strict:
        raise ConversionError(error)
    keep = np.ones(batch.num_rows, dtype=bool)
    keep[bad_rows] = False
    return Converted(typed, batch.filter(pa.array(keep)), len(bad_rows), error)


def _as_bytes(data: Any, *, text: bool) -> bytes:
    """``data`` as immutable bytes (mutable buffers copied; ``str`` encoded when ``text``);
    InputTypeError naming what was passed otherwise."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if text and isinstance(data, str):
        return data.encode()
    kinds = "str, bytes, bytearray or memoryview" if text else "bytes, bytearray or memoryview"
    raise InputTypeError(f"expected {kinds}, got {type(data).__module__}.{type(data).__qualname__}")


def _convert_python(data: bytes, signal: str, *, strict: bool) -> Converted:
    try:
        request = REQUEST_TYPES[signal].FromString(data)
    except DecodeError as exc:
        raise ConversionError(f"invalid OTLP protobuf {signal} request: {exc}") from None
    return _PYTHON_CONVERTERS[signal](request, strict=strict)  # type: ignore[no-any-return]


def convert_json(data: Any, signal: str, *, strict: bool = True) -> Converted:
    """Convert an OTLP/JSON export request body of ``signal``.

    The native core transcodes the forms of OTLP/JSON it decides without doubt (the spec's,
    and what the reference takes beside them) and decodes them as protobuf, with the GIL
    released; any other body (invalid or refused ones among them) takes the reference route,
    the project's OTLP/JSON parser then the Python converter, which accepts or refuses it.
    Both give the same table; a differential test holds them together.
    """
    schema = schema_for(signal)
    data = _as_bytes(data, text=True)
    if _NATIVE is not None and signal in NATIVE_SIGNALS:
        decoded = _NATIVE.decode_json(signal, data)
        if decoded is not None:
            return _imported(decoded, schema, strict=strict)
    return convert_json_python(data, signal, strict=strict)


def convert_json_python(data: bytes, signal: str, *, strict: bool = True) -> Converted:
    """The reference route for OTLP/JSON: ``json_wire.parse``, then the Python converter."""
    from otlp_arrow.otlp import json_wire

    try:
        request = json_wire.parse(data, REQUEST_TYPES[signal])
    except (ValueError, OverflowError) as exc:  # json_format: int(1e400) for an enum overflows
        raise ConversionError(f"invalid OTLP/JSON {signal} request: {exc}") from None
    return _PYTHON_CONVERTERS[signal](request, strict=strict)  # type: ignore[no-any-return]


def native_encoder(table: pa.Table, signal: str) -> Any | None:
    """A native encoder holding ``table`` (exactly ``signal``'s schema, at most one chunk per
    column, handed over through the Arrow C Data Interface without copies), whose
    ``encode(start, stop)`` gives the serialized request of those rows with the GIL released;
    None when the native core does not encode ``signal``."""
    if _NATIVE is None or signal not in ENCODE_SIGNALS:
        return None
    batches = table.to_batches()
    batch = batches[0] if len(batches) == 1 else table.combine_chunks().to_batches()[0]
    encoder = _NATIVE.Encoder(signal)
    batch._export_to_c(encoder.array_address, encoder.schema_address)  # as a struct array
    return encoder

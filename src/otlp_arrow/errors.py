"""The one error tree of otlp-arrow.

Every exception the package raises on purpose is an :class:`OtlpArrowError`. Foreign
exceptions (pyarrow, OS, protobuf) are translated at the boundary, keeping the original as
``__cause__``.
"""

from __future__ import annotations

from pathlib import Path


class OtlpArrowError(Exception):
    """Base class of every error raised by otlp-arrow."""


class ConfigError(OtlpArrowError, ValueError):
    """A setting has a value that is not allowed (names the setting, value and what is allowed)."""


class ConversionError(OtlpArrowError, ValueError):
    """Input telemetry cannot be converted losslessly (names the offending field)."""


class InputTypeError(OtlpArrowError, TypeError):
    """An export got an object of a type it does not take (names the type it got)."""


class BufferFullError(OtlpArrowError):
    """The pipeline buffer has no room for the export; nothing of it was accepted. Retry later."""


class ClosedError(OtlpArrowError, RuntimeError):
    """The library (or pipeline) was shut down; it accepts no more data."""


class ReceiverError(OtlpArrowError):
    """An OTLP receiver could not start (for example, its port is taken)."""


class EndpointError(OtlpArrowError):
    """A remote endpoint cannot be used at all (its host name does not resolve); nothing more
    is sent to it."""


class StorageError(OtlpArrowError, OSError):
    """Reading or writing a file failed. ``path`` is the file or directory concerned."""

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None

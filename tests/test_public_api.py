from __future__ import annotations

import importlib.metadata

import otlp_arrow


def test_all_is_sorted_and_complete() -> None:
    public = {name for name in dir(otlp_arrow) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(otlp_arrow, name)).__name__ == "module"}
    assert sorted(otlp_arrow.__all__) == otlp_arrow.__all__
    assert set(otlp_arrow.__all__) == (public - modules) | {"__version__"}


def test_version_matches_the_distribution() -> None:
    assert otlp_arrow.__version__ == importlib.metadata.version("otlp-arrow")


def test_one_error_tree() -> None:
    for name in (
        "BufferFullError",
        "ClosedError",
        "ConfigError",
        "ConversionError",
        "InputTypeError",
        "ReceiverError",
        "StorageError",
    ):
        assert issubclass(getattr(otlp_arrow, name), otlp_arrow.OtlpArrowError)
    assert issubclass(otlp_arrow.ConfigError, ValueError)
    assert issubclass(otlp_arrow.InputTypeError, TypeError)

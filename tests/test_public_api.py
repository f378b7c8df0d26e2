from __future__ import annotations

import importlib.metadata
import inspect
import subprocess
import sys

import otlp_arrow
from otlp_arrow import errors


def test_all_is_sorted_and_complete() -> None:
    public = {name for name in dir(otlp_arrow) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(otlp_arrow, name)).__name__ == "module"}
    assert sorted(otlp_arrow.__all__) == otlp_arrow.__all__
    assert set(otlp_arrow.__all__) == (public - modules) | {"__version__"}
    for name in otlp_arrow.__all__:  # every lazy name resolves
        assert getattr(otlp_arrow, name) is not None


def test_version_matches_the_distribution() -> None:
    assert otlp_arrow.__version__ == importlib.metadata.version("otlp-arrow")


def test_one_error_tree_all_of_it_public() -> None:
    tree = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.OtlpArrowError)
    }
    assert len(tree) >= 8
    for name in tree:
        assert getattr(otlp_arrow, name) is getattr(errors, name)
        assert name in otlp_arrow.__all__
    assert issubclass(otlp_arrow.ConfigError, ValueError)
    assert issubclass(otlp_arrow.ConversionError, ValueError)
    assert issubclass(otlp_arrow.InputTypeError, TypeError)


def test_the_zero_code_exporters_do_not_import_the_network_stack() -> None:
    """``OTEL_TRACES_EXPORTER=otlp_arrow`` loads ``otlp_arrow.exporters`` into users'
    applications: no gRPC, Starlette, uvicorn or DuckDB there (they load lazily), nor pandas
    (175 ms, which any ``pa.array`` call at import time would load)."""
    code = (
        "import sys, otlp_arrow.exporters\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('grpc', 'starlette', 'uvicorn', 'duckdb', 'pandas')))\n"
        "otlp_arrow.Service\n"  # and the lazy name still loads on first use
        "print('grpc' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["[]", "True"]

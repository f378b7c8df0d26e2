#!/bin/sh
# Create the virtual environment and install otlp-arrow with its development tools.
# Used by `make demo` / `make test` (and so by CI): every install step lives here.
set -eu
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "otlp-arrow needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
    exit 1
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e '.[dev]'
# OpenTelemetry JS, a real OTLP/JSON client for tests/receivers/test_js_client.py
if command -v npm >/dev/null 2>&1; then
    npm ci --prefix tests/js --no-audit --no-fund --silent
else
    echo "npm not found: the OpenTelemetry JS client test will be skipped" >&2
fi
echo "otlp-arrow installed in $VENV"

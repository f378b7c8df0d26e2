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
# builds the native core (native/, Rust) too when cargo is there; without it the install
# still succeeds and OTLP bytes take the Python converter
"$VENV/bin/python" -m pip install --quiet -e '.[dev]'
"$VENV/bin/otlp-arrow" --version
# OpenTelemetry JS, a real OTLP/JSON client for tests/receivers/test_js_client.py, and
# Biome, the formatter and linter `make test` runs on the viewer's scripts (tools/js)
if command -v npm >/dev/null 2>&1; then
    npm ci --prefix tests/js --no-audit --no-fund --silent
    npm ci --prefix tools/js --no-audit --no-fund --silent
else
    echo "npm not found: the OpenTelemetry JS client test will be skipped (and fail on CI)," \
         "and make test cannot check the viewer's scripts (Biome) until npm is installed" >&2
fi
# Chromium and its driver (Debian packages) for the web viewer's browser tests
# (tests/viewer/test_browser.py). Installed when missing and we may: as root with apt-get.
# Elsewhere, install Chromium + chromedriver yourself, or point CHROMIUM / CHROMEDRIVER at them.
if ! command -v "${CHROMEDRIVER:-chromedriver}" >/dev/null 2>&1 || \
   ! command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing chromium and chromium-driver (Debian packages) for the browser tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "Chromium/chromedriver not found: the browser tests will fail until they are" \
             "installed (Debian/Ubuntu: sudo apt-get install chromium chromium-driver)" >&2
    fi
fi
# PostgreSQL's server (Debian package) for the Iceberg tests on a PostgreSQL catalog
# (tests/lake/postgres.py starts a throwaway cluster on a loopback port)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing postgresql (Debian package) for the PostgreSQL catalog tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "PostgreSQL's server not found: the PostgreSQL catalog tests will be skipped" \
             "(and fail on CI); Debian/Ubuntu: sudo apt-get install postgresql" >&2
    fi
fi
# Maven (Debian package), which resolves the REST catalog server's jars (scripts/fetch-jars.sh)
if ! command -v mvn >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing maven (Debian package) for the REST catalog tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null
fi
# Iceberg's Spark runtime (Maven Central) for the Spark tests and examples (docs/scale-out.md),
# and Iceberg's REST catalog test server for the REST catalog tests
sh "$(dirname "$0")/fetch-jars.sh"
echo "otlp-arrow installed in $VENV"

"""The docs say what the code does: schema columns and runnable example queries."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from otlp_arrow import SCHEMA_VERSION, OtlpLibrary, connect, read_table
from otlp_arrow.schema import SCHEMAS
from tests import sample
from tests.helpers import T0, python

DOCS = Path(__file__).parents[1] / "docs"
SCHEMA_MD = (DOCS / "schema.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("signal", sorted(SCHEMAS))
def test_every_column_is_documented(signal: str) -> None:
    documented = set(re.findall(r"^\| `(\w+)` \|", SCHEMA_MD, flags=re.MULTILINE))
    missing = [name for name in SCHEMAS[signal].names if name not in documented]
    assert not missing, f"columns missing from docs/schema.md: {missing}"
    assert f"schema version {SCHEMA_VERSION}" in SCHEMA_MD


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    with OtlpLibrary(output_dir=out) as library:
        traces = sample.traces(2000, start_ns=T0)
        library.export_traces(traces)
        library.export_metrics(sample.metrics(200, time_ns=T0))
        library.export_logs(sample.logs(300, start_ns=T0, traces_request=traces))
    return out


SQL = re.findall(r"```sql\n(.*?)```", SCHEMA_MD, flags=re.DOTALL)


@pytest.mark.parametrize("query", SQL, ids=[f"query{i}" for i in range(len(SQL))])
def test_example_queries_run_and_find_rows(stored: Path, query: str) -> None:
    con = duckdb.connect()
    for signal in SCHEMAS:
        con.register(signal, read_table(stored, signal))
    rows = con.sql(query).fetchall()
    assert rows, query
    assert all(value is not None for value in rows[0]), rows[0]


def test_there_are_example_queries() -> None:
    assert len(SQL) >= 5


QUERYING_MD = (DOCS / "querying.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def recent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with ./otlp-arrow-data holding the last ten minutes."""
    import time

    cwd = tmp_path_factory.mktemp("querying")
    start = time.time_ns() - 600 * 10**9
    with OtlpLibrary(output_dir=cwd / "otlp-arrow-data") as library:
        traces = sample.traces(2000, start_ns=start)
        library.export_traces(traces)
        library.export_metrics(sample.metrics(200, time_ns=start))
        library.export_logs(sample.logs(300, start_ns=start, traces_request=traces))
    return cwd


QUERYING_SQL = [
    statement.strip()
    for block in re.findall(r"```sql\n(.*?)```", QUERYING_MD, flags=re.DOTALL)
    for statement in block.split(";")
    if statement.strip()
]


@pytest.mark.parametrize("query", QUERYING_SQL, ids=[f"q{i}" for i in range(len(QUERYING_SQL))])
def test_querying_sql_examples_run_and_find_rows(recent: Path, query: str) -> None:
    rows = connect(recent / "otlp-arrow-data").sql(query).to_pylist()
    assert rows, query
    assert all(value is not None for value in rows[0].values()), rows[0]


def test_querying_python_examples_run(recent: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", QUERYING_MD, flags=re.DOTALL)
    runnable = [b for b in blocks if "open(path" not in b]
    assert len(runnable) == 2
    for block in runnable:
        python(block, cwd=recent)

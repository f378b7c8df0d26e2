"""What we store is readable by the tools data people use: pyarrow, DuckDB, Polars, pandas,
Parquet writers, also when batches of different resources are mixed."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otlp_arrow import OtlpLibrary, read_table
from otlp_arrow.schema import SIGNALS
from tests import sample
from tests.helpers import T0


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("readers")
    # seal off: the stream files keep one batch per write round (sealed files: test_seal.py)
    with OtlpLibrary(
        output_dir=out, write_interval="10ms", rotate_bytes="64KiB", seal="off"
    ) as library:
        for seed in range(4):
            traces = sample.traces(50, start_ns=T0, seed=seed)
            traces.resource_spans[0].resource.attributes[0].value.string_value = f"svc-{seed}"
            library.export_traces(traces)
            library.export_metrics(sample.metrics(20, time_ns=T0, seed=seed))
            library.export_logs(sample.logs(30, start_ns=T0, seed=seed, traces_request=traces))
            library.flush()
    return out


@pytest.mark.parametrize("signal", SIGNALS)
def test_pyarrow_pandas_polars_parquet(stored: Path, signal: str) -> None:
    table = read_table(stored, signal)
    assert table.column(0).num_chunks == 4  # one batch per write round
    combined = table.combine_chunks()
    assert combined.num_rows == table.num_rows > 0
    frame = table.to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == table.num_rows
    assert pl.from_arrow(table).height == table.num_rows
    sink = io.BytesIO()
    pq.write_table(table, sink)
    assert pq.read_table(pa.BufferReader(sink.getvalue())).num_rows == table.num_rows


def test_duckdb_reads_resource_and_span_attributes(stored: Path) -> None:
    con = duckdb.connect()
    con.register("traces", read_table(stored, "traces"))
    rows = con.sql(
        "SELECT resource_attributes['service.name'].string_value AS service, "
        "count(*) AS spans, min(attributes['http.route'].string_value) AS route "
        "FROM traces GROUP BY service ORDER BY service"
    ).fetchall()
    services = [service for service, _, _ in rows]
    assert services == ["cart", "payment", "svc-0", "svc-1", "svc-2", "svc-3"]
    assert all(spans > 0 and route.startswith("/") for _, spans, route in rows)

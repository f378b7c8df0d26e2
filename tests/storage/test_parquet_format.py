"""The Parquet layout: statistics, page indexes, Bloom filters, encodings per column and sort
keys are really in the files written, and the rows and schema are untouched."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from otlp_arrow import OtlpLibrary, otlp_to_arrow, read_table
from otlp_arrow.schema import SIGNALS, schema_for
from otlp_arrow.storage import parquet_format as fmt
from tests import sample
from tests.helpers import T0, data_files

TABLES = {
    "traces": lambda: otlp_to_arrow(sample.traces(300, start_ns=T0, seed=3)),
    "metrics": lambda: otlp_to_arrow(sample.metrics(200, time_ns=T0, seed=3)),
    "logs": lambda: otlp_to_arrow(sample.logs(200, start_ns=T0, seed=3)),
}


def _columns(path: Path | io.BytesIO) -> dict[str, pq.ColumnChunkMetaData]:
    group = pq.ParquetFile(path).metadata.row_group(0)
    return {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}


@pytest.mark.parametrize("signal", SIGNALS)
def test_files_carry_statistics_page_indexes_encodings_and_sort_order(
    tmp_path: Path, signal: str
) -> None:
    table = fmt.sort_rows(TABLES[signal](), signal)
    path = tmp_path / "x.parquet"
    fmt.write_table(path, table, signal)
    back = pq.read_table(path)
    assert back.schema.equals(schema_for(signal)) and back.equals(table)
    columns = _columns(path)
    for name, encoding in fmt.ENCODINGS[signal].items():
        assert encoding in columns[name].encodings, name
        assert "RLE_DICTIONARY" not in columns[name].encodings, name
    assert "RLE_DICTIONARY" in columns["service_name"].encodings  # repetitive: a dictionary
    for column in columns.values():
        assert column.is_stats_set and column.has_column_index and column.has_offset_index
        assert column.compression == "ZSTD"
    group = pq.ParquetFile(path).metadata.row_group(0)
    names = [table.schema.names[c.column_index] for c in group.sorting_columns]
    assert tuple(names) == fmt.SORT_KEYS[signal]


def test_bloom_filters_are_written_for_trace_ids(tmp_path: Path) -> None:
    for signal in ("traces", "logs"):
        path = tmp_path / f"{signal}.parquet"
        fmt.write_table(path, fmt.sort_rows(TABLES[signal](), signal), signal)
        rows = duckdb.sql(
            f"SELECT path_in_schema, bloom_filter_offset IS NOT NULL AS bloom "
            f"FROM parquet_metadata('{path}')"
        ).fetchall()
        with_bloom = {name for name, bloom in rows if bloom}
        assert with_bloom == set(fmt.BLOOM_COLUMNS[signal]), signal


def test_sorting_is_stable_and_puts_nulls_last() -> None:
    table = pa.table(
        {
            "service_name": pa.array(["b", None, "a", "a"]).dictionary_encode(),
            "time": pa.array([1, 1, 2, 1], pa.int64()),
            "row": [0, 1, 2, 3],
        }
    )
    ordered = fmt.sort_rows(table, "logs")
    assert ordered.column("row").to_pylist() == [3, 2, 0, 1]
    assert pa.types.is_dictionary(ordered.schema.field("service_name").type)


def test_sealed_files_use_the_layout_and_keep_the_stream_order(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path / "sealed", write_interval="10ms") as lib:
        lib.export_traces(TABLES["traces"]())
    with OtlpLibrary(output_dir=tmp_path / "streams", write_interval="10ms", seal="off") as lib:
        lib.export_traces(TABLES["traces"]())
    (sealed,) = data_files(tmp_path / "sealed", "traces", ".parquet")
    assert "PLAIN" in _columns(sealed)["span_id"].encodings
    assert pq.ParquetFile(sealed).metadata.row_group(0).sorting_columns == ()  # not sorted
    assert read_table(tmp_path / "sealed", "traces").equals(
        read_table(tmp_path / "streams", "traces")
    )


def test_writer_options_are_valid_for_every_signal() -> None:
    for signal in SIGNALS:
        options = fmt.writer_options(signal, rows=10, level=1)
        assert options["compression_level"] == 1
        assert all(o["ndv"] == 10 for o in options["bloom_filter_options"].values())
        assert not set(options["use_dictionary"]) & set(options["column_encoding"])
    with pytest.raises(ValueError):
        fmt.writer_options("spans")

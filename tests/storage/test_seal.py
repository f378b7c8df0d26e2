"""Sealing closed files as Parquet: lossless, atomic, safe after crashes, read by every
reader (ours, pyarrow.dataset, Polars, DuckDB) without double counting."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.dataset as ds
import pytest

from otlp_arrow import OtlpLibrary, arrow_to_otlp, otlp_to_arrow, read_table
from otlp_arrow.errors import StorageError
from otlp_arrow.schema import SIGNALS, schema_for
from otlp_arrow.storage import seal
from otlp_arrow.storage.reader import read_file, signal_files
from tests import sample
from tests.helpers import EOS, T0, all_sealed, data_files, span_batch

SAMPLES = {
    "traces": lambda seed: sample.traces(120, start_ns=T0, seed=seed),
    "metrics": lambda seed: sample.metrics(90, time_ns=T0, seed=seed),
    "logs": lambda seed: sample.logs(70, start_ns=T0, seed=seed),
}


def _write(out: Path, rounds: int = 6, **settings: object) -> dict[str, list[object]]:
    sent: dict[str, list[object]] = {s: [] for s in SIGNALS}
    settings = {"write_interval": "10ms", "rotate_bytes": "24KiB", **settings}
    with OtlpLibrary(output_dir=out, **settings) as lib:
        for seed in range(rounds):
            for signal, make in SAMPLES.items():
                request = make(seed)
                sent[signal].append(request)
                getattr(lib, f"export_{signal}")(otlp_to_arrow(request))
            lib.flush()
    return sent


@pytest.mark.parametrize("signal", SIGNALS)
def test_sealed_files_hold_exactly_what_was_written(tmp_path: Path, signal: str) -> None:
    _write(tmp_path / "sealed")
    _write(tmp_path / "streams", seal="off")
    assert all_sealed(tmp_path / "sealed", signal)
    assert len(data_files(tmp_path / "sealed", signal, ".parquet")) > 1  # rotation happened
    sealed = read_table(tmp_path / "sealed", signal)
    streams = read_table(tmp_path / "streams", signal)
    assert sealed.schema.equals(schema_for(signal))  # types (dictionaries, ids) come back
    assert sealed.num_rows == streams.num_rows > 0
    assert arrow_to_otlp(sealed, signal) == arrow_to_otlp(streams, signal)


def test_sealed_files_are_smaller_than_the_streams(tmp_path: Path) -> None:
    _write(tmp_path / "sealed", rounds=10, rotate_bytes="1MiB")
    _write(tmp_path / "streams", rounds=10, rotate_bytes="1MiB", seal="off")
    for signal in SIGNALS:
        sealed = sum(f.stat().st_size for f in data_files(tmp_path / "sealed", signal, ".parquet"))
        streams = sum(f.stat().st_size for f in data_files(tmp_path / "streams", signal))
        assert sealed < streams, signal


def test_other_tools_read_the_sealed_files_directly(tmp_path: Path) -> None:
    _write(tmp_path)
    rows = read_table(tmp_path, "traces").num_rows
    pattern = str(tmp_path / "traces" / "**" / "*.parquet")
    dataset = ds.dataset(tmp_path / "traces", format="parquet", partitioning="hive")
    assert dataset.count_rows() == rows
    assert (
        pl.scan_parquet(pattern, hive_partitioning=True).select(pl.len()).collect().item() == rows
    )
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchall() == [(rows,)]


def test_the_file_being_written_stays_a_readable_stream(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path, write_interval="10ms", rotate_bytes="24KiB") as lib:
        for seed in range(4):
            lib.export_traces(span_batch(100, seed))
            lib.flush()
        lib.export_traces(span_batch(3, 9))  # a small batch: its file stays open
        lib.flush()
        open_path = lib._writer.writers["traces"].open_path
        assert open_path is not None and open_path.suffix == ".arrows"
        deadline = time.monotonic() + 5
        while data_files(tmp_path, "traces")[:-1] and time.monotonic() < deadline:
            time.sleep(0.02)  # the closed ones are sealed in the background
        assert data_files(tmp_path, "traces") == [open_path]
        assert read_table(tmp_path, "traces").num_rows == 403


def test_a_stream_and_its_sealed_copy_are_counted_once(tmp_path: Path) -> None:
    _write(tmp_path, seal="off")
    before = read_table(tmp_path, "logs").num_rows
    stream = data_files(tmp_path, "logs")[0]
    data = stream.read_bytes()
    copy = seal.seal_file(stream, tmp_path / "logs")
    assert copy is not None and copy.suffix == ".parquet" and not stream.exists()
    assert read_table(tmp_path, "logs").num_rows == before
    stream.write_bytes(data)  # as if a crash came between the rename and the delete
    assert read_table(tmp_path, "logs").num_rows == before
    assert stream not in [f.path for f in signal_files(tmp_path, "logs")]
    assert stream not in seal.pending(tmp_path / "logs") and not stream.exists()  # cleaned up


def test_a_new_run_seals_what_an_earlier_one_left(tmp_path: Path) -> None:
    _write(tmp_path, seal="off")
    rows = read_table(tmp_path, "traces").num_rows
    orphan = data_files(tmp_path, "traces")[-1]
    others = rows - sum(b.num_rows for b in read_file(orphan))
    orphan.write_bytes(orphan.read_bytes()[: -len(EOS) - 3])  # its writer was killed
    complete = sum(b.num_rows for b in read_file(orphan))
    stale = orphan.parent / ".x.parquet.1-abcd.tmp"  # a crash while sealing, a moment ago
    stale.write_bytes(b"partial")
    OtlpLibrary(output_dir=tmp_path).shutdown()  # no live process holds either of them
    assert not stale.exists()
    assert all_sealed(tmp_path, "traces")  # the closed files and the killed writer's
    assert read_table(tmp_path, "traces").num_rows == others + complete


def test_sealing_failure_leaves_the_stream_and_no_partial_file(tmp_path: Path) -> None:
    _write(tmp_path, seal="off")
    stream = data_files(tmp_path, "metrics")[0]
    before = stream.read_bytes()
    blocker = stream.with_suffix(".parquet")
    (blocker / "in-the-way").mkdir(parents=True)  # the target name is taken by a directory
    with pytest.raises(StorageError, match=f"cannot rename .*{blocker.name}"):
        seal.seal_file(stream, tmp_path / "metrics")
    assert stream.read_bytes() == before
    assert not list(stream.parent.glob(".*"))


def test_a_stream_sealed_after_it_was_listed_is_read_from_its_parquet_copy(
    tmp_path: Path,
) -> None:
    _write(tmp_path, seal="off")
    stream = data_files(tmp_path, "traces")[0]
    rows = sum(batch.num_rows for batch in read_file(stream))
    assert seal.seal_file(stream, tmp_path / "traces") is not None  # a reader listed it before
    assert not stream.exists()
    assert sum(batch.num_rows for batch in read_file(stream)) == rows


def test_sealed_row_groups_are_full_but_the_last(tmp_path: Path) -> None:
    """Batches of 1,000 rows make row groups of exactly ROW_GROUP_ROWS (16Ki) but the last;
    the sealer used to leave a ~600-row group after each full one (about 25% more groups
    for every reader to plan and prune)."""
    import pyarrow.parquet as pq

    with OtlpLibrary(output_dir=tmp_path, write_interval="10ms", rotate_bytes="1GiB") as lib:
        for seed in range(40):
            lib.export_traces(span_batch(1000, seed))
            lib.flush()  # one batch of 1,000 rows per write round
    (sealed,) = data_files(tmp_path, "traces", ".parquet")
    metadata = pq.ParquetFile(sealed).metadata
    groups = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
    assert groups == [seal.ROW_GROUP_ROWS, seal.ROW_GROUP_ROWS, 40_000 - 2 * seal.ROW_GROUP_ROWS]

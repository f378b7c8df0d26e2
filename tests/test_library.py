"""OtlpLibrary, the embedded API, on real files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from otlp_arrow import (
    ClosedError,
    Config,
    ConversionError,
    InputTypeError,
    OtlpLibrary,
    StorageError,
    arrow_to_otlp,
    read_table,
    schema_for,
)
from tests import sample
from tests.helpers import EOS, T0, all_sealed, data_files, python, span_batch
from tests.otlp_compare import assert_same


def test_every_signal_is_readable_after_flush(tmp_path: Path) -> None:
    requests = {
        "traces": sample.traces(30, start_ns=T0),
        "metrics": sample.metrics(25, time_ns=T0),
        "logs": sample.logs(12, start_ns=T0),
    }
    with OtlpLibrary(output_dir=tmp_path, write_interval="1h") as library:
        counts = {s: getattr(library, f"export_{s}")(r) for s, r in requests.items()}
        assert library.flush()  # long before the one-hour interval
        for signal, request in requests.items():
            stored = read_table(tmp_path, signal)
            assert stored.num_rows == counts[signal] > 0
            assert_same(arrow_to_otlp(stored, signal), request)
        stats = library.stats()
        assert stats["rows_written"] == counts and stats["buffered_rows"] == 0


def test_tables_and_batches_are_accepted(tmp_path: Path) -> None:
    batch = span_batch(10)
    shuffled = pa.Table.from_batches([batch]).select(list(reversed(batch.schema.names)))
    with OtlpLibrary(output_dir=tmp_path) as library:
        assert library.export_traces(batch) == 10
        assert library.export_traces(shuffled) == 10  # column order does not matter
        assert library.export_traces(schema_for("traces").empty_table()) == 0
    assert read_table(tmp_path, "traces").num_rows == 20


def test_wrong_inputs_are_refused_with_clear_errors(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path) as library:
        with pytest.raises(InputTypeError, match="export_traces got a logs request"):
            library.export_traces(sample.logs(1, start_ns=T0))
        with pytest.raises(InputTypeError, match=r"export_metrics: .*got builtins\.list"):
            library.export_metrics([1, 2])
        with pytest.raises(ConversionError, match="missing column"):
            library.export_logs(span_batch(1))
        with pytest.raises(
            InputTypeError,
            match=r"^export_traces: expected SDK ReadableSpans, an ExportTraceServiceRequest "
            r"or a pyarrow Table/RecordBatch of the traces schema, got builtins\.dict$",
        ):
            library.export_traces({})
        with pytest.raises(InputTypeError, match=r"^export_logs: expected SDK ReadableLogRecords"):
            library.export_logs(b"\n\x00")  # serialized bytes: otlp_to_arrow takes those
        assert library.stats()["rows_accepted"] == {}


def test_shutdown_then_export_raises_and_shutdown_is_idempotent(tmp_path: Path) -> None:
    library = OtlpLibrary(output_dir=tmp_path)
    library.export_traces(span_batch(3))
    library.shutdown()
    assert "shut down" in repr(library)
    with pytest.raises(ClosedError, match="shut down"):
        library.export_traces(span_batch(1))
    library.shutdown()
    assert library.flush() is True
    assert read_table(tmp_path, "traces").num_rows == 3


def test_config_object_and_overrides(tmp_path: Path) -> None:
    config = Config.load(output_dir=tmp_path / "a")
    with OtlpLibrary(config, output_dir=tmp_path / "b", write_interval="250ms") as library:
        assert library.output_dir == tmp_path / "b"
        assert library.config.write_interval == 0.25


def test_read_table_of_an_empty_directory(tmp_path: Path) -> None:
    table = read_table(tmp_path / "nothing-here", "metrics")
    assert table.num_rows == 0 and table.schema.equals(schema_for("metrics"))
    with pytest.raises(ConversionError, match="unknown signal"):
        read_table(tmp_path, "profiles")


def test_exit_without_shutdown_still_writes_and_closes_everything(tmp_path: Path) -> None:
    python(
        "import sys\n"
        "from otlp_arrow import OtlpLibrary\n"
        "from tests import sample\n"
        "lib = OtlpLibrary(output_dir=sys.argv[1], write_interval='1h')\n"
        "lib.export_traces(sample.traces(25, start_ns=10**18))\n"
        "lib.export_logs(sample.logs(5, start_ns=10**18))\n",  # no flush, no shutdown
        str(tmp_path),
    )
    assert read_table(tmp_path, "traces").num_rows == 25
    assert read_table(tmp_path, "logs").num_rows == 5
    assert all_sealed(tmp_path, "traces") and all_sealed(tmp_path, "logs")


def test_shutdown_closes_every_file_with_the_end_of_stream_marker(tmp_path: Path) -> None:
    library = OtlpLibrary(
        output_dir=tmp_path, rotate_bytes="32KiB", write_interval="10ms", seal="off"
    )
    for seed in range(5):
        library.export_traces(span_batch(100, seed))
        library.flush()
    library.shutdown()
    files = data_files(tmp_path, "traces")
    assert len(files) >= 2 and all(f.read_bytes().endswith(EOS) for f in files)


def test_sealing_at_shutdown_is_not_cut_short_by_the_write_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shutdown timeout bounds writing the buffered rows; the last files are sealed after
    it, however long sealing takes (a big file can take longer than the timeout)."""
    import time

    from otlp_arrow.storage import seal

    real = seal.seal_file

    def slow_seal(*args: object, **kwargs: object) -> Path | None:
        time.sleep(1.0)  # a big, attribute-heavy file
        return real(*args, **kwargs)

    monkeypatch.setattr(seal, "seal_file", slow_seal)
    library = OtlpLibrary(output_dir=tmp_path, write_interval="10ms")
    library.export_traces(span_batch(100, 1))
    library.export_logs(sample.logs(10, start_ns=T0))
    library.shutdown(timeout_millis=500)  # raised "writer did not finish within 0.5 s"
    assert all_sealed(tmp_path, "traces") and all_sealed(tmp_path, "logs")
    assert read_table(tmp_path, "traces").num_rows == 100


def test_an_output_dir_that_is_a_file_is_refused_at_once(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory")
    with pytest.raises(StorageError, match=r"data is not a directory$"):
        OtlpLibrary(output_dir=tmp_path / "data")

"""otlp_arrow.connect: filtered tables, SQL and summaries over real stored files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest

from otlp_arrow import ConversionError, OtlpLibrary, connect
from otlp_arrow.schema import ANY_VALUE_FIELDS
from tests import sample
from tests.helpers import T0, all_sealed, data_files, span_batch, wait_for


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("query")
    with OtlpLibrary(output_dir=out, write_interval="10ms") as library:
        for seed in range(3):
            traces = sample.traces(40, start_ns=T0 + seed * 3600 * 10**9, seed=seed)
            library.export_traces(traces)
            library.export_metrics(sample.metrics(10, time_ns=T0, seed=seed))
            library.export_logs(sample.logs(20, start_ns=T0, seed=seed, traces_request=traces))
            library.flush()  # several batches, as in real use
    return out


def test_filters(stored: Path) -> None:
    store = connect(stored)
    spans = store.traces()
    assert spans.num_rows == 120
    first_hour = datetime.fromtimestamp(T0 / 1e9, UTC)
    in_hour = store.traces(start=first_hour, end=first_hour + timedelta(hours=1))
    assert in_hour.num_rows == 40
    frontend = store.traces(service="frontend")
    assert 0 < frontend.num_rows < 120
    assert set(frontend.column("service_name").to_pylist()) == {"frontend"}
    trace_id = spans.column("trace_id")[0].as_py()
    one_trace = store.traces(trace_id=trace_id.hex())
    assert one_trace.num_rows >= 1
    assert set(one_trace.column("trace_id").to_pylist()) == {trace_id}
    assert (
        store.logs(trace_id=trace_id).num_rows
        == pc.sum(pc.equal(store.logs().column("trace_id"), trace_id)).as_py()
    )
    assert store.metrics(service="frontend").num_rows == store.metrics().num_rows == 30


def test_bad_filters_are_clear_errors(stored: Path) -> None:
    store = connect(stored)
    with pytest.raises(ConversionError, match="has no time zone"):
        store.traces(start=datetime(2026, 1, 1))
    with pytest.raises(ConversionError, match="is not hex"):
        store.traces(trace_id="xyz")
    with pytest.raises(ConversionError, match="16 bytes"):
        store.traces(trace_id="abcd")


def test_sql_over_all_three_signals(stored: Path) -> None:
    store = connect(stored)
    result = store.sql(
        "SELECT t.service_name, count(*) AS n FROM logs l "
        "JOIN traces t ON l.trace_id = t.trace_id AND l.span_id = t.span_id "
        "GROUP BY ALL ORDER BY n DESC"
    )
    assert sum(result.column("n").to_pylist()) == 60  # every log joins its span
    assert store.sql("SELECT count(*) AS n FROM metrics").column("n").to_pylist() == [30]
    with pytest.raises(ConversionError, match="SQL error"):
        store.sql("SELECT nope FROM traces")


def test_summary(stored: Path) -> None:
    summary = {s.signal: s for s in connect(stored).summary()}
    traces = summary["traces"]
    assert (traces.rows, traces.files) == (120, 1) and traces.bytes > 0
    assert traces.first is not None and traces.last is not None and traces.first < traces.last
    assert {name for name, _ in traces.top_services} == {"frontend", "cart", "payment"}
    assert summary["logs"].rows == 60 and summary["metrics"].rows == 30


def test_empty_directory(tmp_path: Path) -> None:
    store = connect(tmp_path)
    assert store.traces().num_rows == 0
    assert store.sql("SELECT count(*) AS n FROM traces").column("n").to_pylist() == [0]
    assert connect(tmp_path).summary()[0].first is None


def test_follow_yields_only_what_is_written_afterwards(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path, write_interval="10ms") as library:
        library.export_logs(sample.logs(3, start_ns=T0))  # already there: not followed
        library.flush()
        follow = connect(tmp_path).follow(("logs",), poll_s=0.02)  # takes stock now
        library.export_logs(sample.logs(4, start_ns=T0 + 10**12, seed=9))
        library.flush()
        signal, batch = next(follow)
    assert signal == "logs" and batch.num_rows == 4
    assert pc.min(batch.column("time")).value >= T0 + 10**12


def test_follow_shows_rows_once_while_files_rotate_and_get_sealed(tmp_path: Path) -> None:
    import threading
    import time

    shown: list[int] = []
    with OtlpLibrary(output_dir=tmp_path, write_interval="10ms", rotate_bytes="24KiB") as lib:
        lib.export_traces(span_batch(50, 99))
        lib.flush()
        follow = connect(tmp_path).follow(("traces",), poll_s=0.01)
        next_batch = threading.Thread(
            target=lambda: shown.extend(b.num_rows for _, b in follow), daemon=True
        )
        next_batch.start()
        for seed in range(5):
            lib.export_traces(span_batch(100, seed))  # each closes its file: sealed soon
            lib.flush()
    wait_for(lambda: sum(shown) >= 500, "follow to show the 500 new rows")
    wait_for(lambda: all_sealed(tmp_path, "traces"), "every file sealed")
    time.sleep(0.3)  # ~30 more polls after sealing: a row shown twice would show up here
    assert all_sealed(tmp_path, "traces")
    assert sum(shown) == 500


def test_sealed_and_live_files_read_as_one(tmp_path: Path) -> None:
    with OtlpLibrary(
        output_dir=tmp_path / "mixed", write_interval="10ms", rotate_bytes="24KiB"
    ) as library:
        for seed in range(5):
            library.export_traces(span_batch(100, seed))
            library.flush()
        library.export_traces(span_batch(7, 5))  # stays in the open stream file
        library.flush()
        library._writer.sealer.close()  # every closed file sealed
        kinds = {p.suffix for p in (tmp_path / "mixed" / "traces").rglob("*.*")}
        assert kinds == {".parquet", ".arrows"}
        mixed = connect(tmp_path / "mixed")
        question = (
            "SELECT count(*) AS n, count(DISTINCT span_id) AS spans, sum(duration_ns) AS d, "
            "max(start_time) AS last FROM traces"
        )
        answer = mixed.sql(question)
        table = mixed.traces()
        first = table.column("start_time")[0].as_py()
        later = mixed.traces(start=first + timedelta(microseconds=1))
    with OtlpLibrary(output_dir=tmp_path / "plain", seal="off") as library:
        for seed in range(5):
            library.export_traces(span_batch(100, seed))
        library.export_traces(span_batch(7, 5))
    plain = connect(tmp_path / "plain")
    assert answer.to_pylist() == plain.sql(question).to_pylist()
    assert answer.column("n").to_pylist() == [507] and table.num_rows == 507
    assert later.num_rows == plain.traces(start=first + timedelta(microseconds=1)).num_rows
    assert table.sort_by("span_id").equals(plain.traces().sort_by("span_id"))


def test_dataframe_conveniences(stored: Path) -> None:
    from otlp_arrow import to_pandas, to_polars

    spans = connect(stored).traces(service="frontend")
    frame = to_polars(spans)
    assert frame.height == spans.num_rows and set(frame["service_name"]) == {"frontend"}
    pandas_frame = to_pandas(spans)
    assert len(pandas_frame) == spans.num_rows
    assert str(pandas_frame["start_time"].dt.tz) == "UTC"


def test_a_file_deleted_while_querying_is_asked_again(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path, write_interval="10ms", rotate_bytes="24KiB") as lib:
        for seed in range(4):
            lib.export_traces(span_batch(100, seed))
            lib.flush()
    store = connect(tmp_path)
    victim = data_files(tmp_path, "traces", ".parquet")[0]
    calls = []

    def count(con: object) -> int:
        calls.append(1)
        if len(calls) == 1:
            victim.unlink()  # as retention would, between listing and reading
        return int(con.sql("SELECT count(*) FROM traces").fetchall()[0][0])  # type: ignore[attr-defined]

    assert store.with_duckdb(count) == 300 and len(calls) == 2


def test_one_value_renderer_bytes_as_lowercase_hex() -> None:
    from otlp_arrow.display import display_any_value, display_bytes, display_value

    assert display_bytes(b"\xde\xad\xbe\xef") == "deadbeef" and display_bytes(b"") == ""
    empty = dict.fromkeys(ANY_VALUE_FIELDS)
    assert display_any_value(None) is None and display_any_value(empty) is None
    assert display_any_value({**empty, "bytes_value": b"\x01\xff"}) == "01ff"
    assert display_any_value({**empty, "double_value": float("nan")}) == "nan"
    assert display_any_value({**empty, "int_value": 0}) == 0
    array = '{"values":[{"bytesValue":"Af8="},{"intValue":"7"},{"doubleValue":"-Infinity"},{}]}'
    assert display_any_value({**empty, "array_value": array}) == ["01ff", 7, "-inf", None]
    assert display_any_value({**empty, "array_value": "{}"}) == []
    kvlist = '{"values":[{"key":"a","value":{"arrayValue":{}}},{"value":{"boolValue":true}}]}'
    assert display_any_value({**empty, "kvlist_value": kvlist}) == {"a": [], "": True}
    assert display_any_value({**empty, "kvlist_value": "{}"}) == {}
    nested = '{"values":[{"kvlistValue":{"values":[{"key":"x","value":{"stringValue":"y"}}]}},'
    nested += '{"arrayValue":{"values":[{"boolValue":false}]}}]}'
    assert display_any_value({**empty, "array_value": nested}) == [{"x": "y"}, [False]]
    # nested values as pyarrow gives them: maps as pairs, structs as dicts
    link = {"trace_id": b"\x00" * 16, "attributes": [("k", {**empty, "string_value": "v"})]}
    assert display_value([link]) == [{"trace_id": "0" * 32, "attributes": {"k": "v"}}]

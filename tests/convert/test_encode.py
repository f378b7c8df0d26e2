"""``arrow_to_otlp_bytes`` and ``iter_otlp_requests`` against the reference encoder
(``arrow_to_otlp`` then upb ``SerializeToString``): the bytes parse to the same request, for
every generated request, whole tables, chunked tables, slices and cut tables alike."""

from __future__ import annotations

import os
import threading
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otlp_arrow import (
    ConversionError,
    arrow_to_otlp,
    arrow_to_otlp_bytes,
    iter_otlp_requests,
    otlp_to_arrow,
)
from otlp_arrow.convert.native import ENCODE_SIGNALS, REQUEST_TYPES
from tests import sample
from tests.otlp_compare import assert_same, flatten
from tests.otlp_strategies import REQUESTS

SIGNALS = ("traces", "logs", "metrics")
NATIVE_OFF = os.environ.get("OTLP_ARROW_NATIVE", "").strip() == "0"
native_only = pytest.mark.skipif(NATIVE_OFF, reason="the native encoder is disabled")


def _parse(data: bytes, signal: str) -> Any:
    return REQUEST_TYPES[signal].FromString(data)


def _sample(signal: str, n: int = 60) -> Any:
    return {
        "traces": lambda: sample.traces(n, start_ns=10**18),
        "metrics": lambda: sample.metrics(n, time_ns=10**18),
        "logs": lambda: sample.logs(n, start_ns=10**18),
    }[signal]()


@native_only
def test_all_signals_are_encoded_natively() -> None:
    # a build that silently fell back to Python would make every comparison below trivial
    assert set(SIGNALS) <= ENCODE_SIGNALS


@pytest.mark.parametrize("signal", SIGNALS)
@settings(max_examples=60)
@given(data=st.data())
def test_the_bytes_parse_to_the_reference_request(signal: str, data: st.DataObject) -> None:
    request = data.draw(REQUESTS[signal])
    table = otlp_to_arrow(request)
    encoded = arrow_to_otlp_bytes(table, signal)
    assert isinstance(encoded, bytes)
    parsed = _parse(encoded, signal)
    assert_same(parsed, arrow_to_otlp(table, signal))
    assert_same(parsed, request)  # and so round-trips to the request it came from


@pytest.mark.parametrize("signal", SIGNALS)
def test_the_sample_workload_is_byte_for_byte_the_official_serialization(signal: str) -> None:
    # one resource and scope per service in order: the grouping is the same, so are the bytes
    table = otlp_to_arrow(_sample(signal))
    reference = arrow_to_otlp(table, signal)
    parsed = _parse(arrow_to_otlp_bytes(table, signal), signal)
    assert parsed == reference


@pytest.mark.parametrize("signal", SIGNALS)
def test_chunked_tables_record_batches_and_slices(signal: str) -> None:
    first = otlp_to_arrow(_sample(signal, 30))
    second = otlp_to_arrow(_sample(signal, 20))  # other dictionaries
    table = pa.concat_tables([first, second])
    assert table.column("scope_name").num_chunks == 2
    assert_same(_parse(arrow_to_otlp_bytes(table, signal), signal), arrow_to_otlp(table, signal))
    part = table.slice(17, 25)  # offsets into children that start elsewhere
    assert_same(_parse(arrow_to_otlp_bytes(part, signal), signal), arrow_to_otlp(part, signal))
    batch = first.to_batches()[0]
    assert_same(_parse(arrow_to_otlp_bytes(batch, signal), signal), arrow_to_otlp(batch, signal))


@pytest.mark.parametrize("signal", SIGNALS)
def test_an_empty_table_is_an_empty_request(signal: str) -> None:
    table = otlp_to_arrow(_sample(signal)).slice(0, 0)
    assert arrow_to_otlp_bytes(table, signal) == b""
    assert list(iter_otlp_requests(table, signal, max_rows=3)) == []


@pytest.mark.parametrize("signal", SIGNALS)
@settings(max_examples=30)
@given(data=st.data())
def test_cut_pieces_respect_the_limits_and_together_are_the_table(
    signal: str, data: st.DataObject
) -> None:
    request = data.draw(REQUESTS[signal])
    table = otlp_to_arrow(request)
    whole = len(arrow_to_otlp_bytes(table, signal))
    max_rows = data.draw(st.one_of(st.none(), st.integers(1, 5)))
    # from a limit near one row's size up to more than the whole request
    per_row = whole // max(table.num_rows, 1)
    low = min(per_row * 3 + 400, whole + 10)
    max_bytes = data.draw(st.one_of(st.none(), st.integers(low, whole + 10), st.integers(1, 400)))
    try:
        pieces = list(iter_otlp_requests(table, signal, max_rows=max_rows, max_bytes=max_bytes))
    except ConversionError as exc:  # a single row over the limit: say so, send nothing
        assert max_bytes is not None
        assert "more than max_bytes" in str(exc)
        return
    items: list[tuple[bytes, ...]] = []
    for piece in pieces:
        assert max_bytes is None or len(piece) <= max_bytes
        rows = flatten(_parse(piece, signal))
        assert 0 < len(rows) <= (max_rows or table.num_rows)
        items.extend(rows)
    assert sorted(items) == sorted(flatten(arrow_to_otlp(table, signal)))


def test_pieces_follow_row_order_and_bytes() -> None:
    table = otlp_to_arrow(sample.traces(100, start_ns=10**18))
    limit = len(arrow_to_otlp_bytes(table, "traces")) // 4
    pieces = list(iter_otlp_requests(table, "traces", max_bytes=limit))
    assert len(pieces) >= 4
    assert all(len(p) <= limit for p in pieces)
    back = pa.concat_tables([otlp_to_arrow(p, "traces") for p in pieces])
    assert sorted(back.column("span_id").to_pylist()) == sorted(table.column("span_id").to_pylist())
    by_rows = list(iter_otlp_requests(table, "traces", max_rows=30))
    assert [otlp_to_arrow(p, "traces").num_rows for p in by_rows] == [30, 30, 30, 10]
    first = otlp_to_arrow(by_rows[0], "traces").column("span_id").to_pylist()
    assert sorted(first) == sorted(table.column("span_id").to_pylist()[:30])


def test_limits_that_cannot_be_met_are_errors() -> None:
    table = otlp_to_arrow(sample.traces(3, start_ns=10**18))
    with pytest.raises(ConversionError, match=r"row 0 alone encodes to \d+ bytes"):
        list(iter_otlp_requests(table, "traces", max_bytes=10))
    with pytest.raises(ConversionError, match="max_rows must be at least 1"):
        list(iter_otlp_requests(table, "traces", max_rows=0))
    with pytest.raises(ConversionError, match="max_bytes must be at least 1"):
        list(iter_otlp_requests(table, "traces", max_bytes=0))


def test_a_table_of_another_schema_is_refused_naming_the_column() -> None:
    table = otlp_to_arrow(sample.traces(3, start_ns=10**18))
    with pytest.raises(ConversionError, match=r"missing column.*span_id"):
        arrow_to_otlp_bytes(table.drop_columns(["span_id"]), "traces")
    with pytest.raises(ConversionError, match="not of the logs schema"):
        arrow_to_otlp_bytes(table, "logs")
    bad = table.set_column(
        table.schema.get_field_index("kind"), "kind", pa.array(["x"] * 3, pa.string())
    )
    with pytest.raises(ConversionError, match="does not match the traces schema"):
        arrow_to_otlp_bytes(bad, "traces")
    with pytest.raises(ConversionError, match="unknown signal 'spans'"):
        arrow_to_otlp_bytes(table, "spans")


def _with_attribute(table: pa.Table, column: str, field: str, value: Any) -> pa.Table:
    rows = table.to_pylist()
    rows[1][column] = [("bad", {field: value})]
    return pa.Table.from_pylist(rows, schema=table.schema)


@native_only
def test_stored_text_that_is_not_otlp_json_is_refused_naming_the_field() -> None:
    table = otlp_to_arrow(sample.traces(3, start_ns=10**18))
    bad = _with_attribute(table, "attributes", "array_value", '{"values":[{"nope":1}]}')
    with pytest.raises(ConversionError, match=r"row 1.*attributes\[1\]\.array_value"):
        arrow_to_otlp_bytes(bad, "traces")
    bad = _with_attribute(table, "attributes", "kvlist_value", "{")
    with pytest.raises(ConversionError, match="kvlist_value: stored OTLP/JSON text"):
        arrow_to_otlp_bytes(bad, "traces")


@native_only
def test_a_negative_time_is_refused_naming_the_column() -> None:
    table = otlp_to_arrow(sample.logs(2, start_ns=10**18))
    times = pa.array([-5, 1], pa.int64()).cast(table.schema.field("time").type)
    bad = table.set_column(table.schema.get_field_index("time"), "time", times)
    with pytest.raises(ConversionError, match="time: negative time -5"):
        arrow_to_otlp_bytes(bad, "logs")


@native_only
def test_the_native_encoder_checks_the_layout_it_is_given() -> None:
    from otlp_arrow.convert.native import native_encoder

    table = otlp_to_arrow(sample.traces(2, start_ns=10**18))
    wrong = table.set_column(
        table.schema.get_field_index("flags"), "flags", pa.array([1, 2], pa.int64())
    )
    encoder = native_encoder(wrong, "traces")
    assert encoder is not None
    with pytest.raises(ValueError, match='column "flags" is Int64, expected uint32'):
        encoder.encode(0, 2)
    encoder = native_encoder(table.drop_columns(["links"]), "traces")
    with pytest.raises(ValueError, match='missing column "links"'):
        encoder.encode(0, 2)
    encoder = native_encoder(table, "traces")
    with pytest.raises(ValueError, match="out of a table of 2"):
        encoder.encode(1, 3)


@native_only
def test_encoders_run_in_parallel_threads() -> None:
    # the GIL is released while encoding; threads sharing nothing must not disturb each other
    table = otlp_to_arrow(sample.traces(300, start_ns=10**18))
    want = arrow_to_otlp_bytes(table, "traces")
    results: list[bytes] = []

    def work() -> None:
        for _ in range(5):
            results.append(arrow_to_otlp_bytes(table, "traces"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [want] * 20


@pytest.mark.parametrize("signal", SIGNALS)
def test_the_python_route_gives_the_same_requests(
    signal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what a build without the native core (or OTLP_ARROW_NATIVE=0) sends
    table = pa.concat_tables([otlp_to_arrow(_sample(signal, 30))] * 2)
    native = list(iter_otlp_requests(table, signal, max_rows=25))
    monkeypatch.setattr("otlp_arrow.convert.to_bytes.native_encoder", lambda *_: None)
    python = list(iter_otlp_requests(table, signal, max_rows=25))
    assert len(python) == len(native) == 3
    for got, want in zip(python, native, strict=True):
        assert_same(_parse(got, signal), _parse(want, signal))
    with pytest.raises(ConversionError, match="out of a table of 60"):
        from otlp_arrow.convert.to_bytes import TableEncoder

        TableEncoder(table, signal).encode(0, 61)


@native_only
def test_one_encoder_shared_by_threads() -> None:
    # the imported table is read without a lock: a thread waiting for it while holding the
    # GIL would otherwise deadlock with one that needs the GIL back after encoding
    from otlp_arrow.convert.to_bytes import TableEncoder

    table = otlp_to_arrow(sample.traces(200, start_ns=10**18))
    encoder = TableEncoder(table, "traces")
    want = [encoder.encode(start, start + 50) for start in range(0, 200, 50)]
    got: dict[int, list[bytes]] = {}

    def work(n: int) -> None:
        got[n] = [encoder.encode(start, start + 50) for start in range(0, 200, 50) for _ in "ab"]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(got[n] == [w for w in want for _ in "ab"] for n in range(4))

"""OTLP -> Arrow -> OTLP gives the same messages, for arbitrary valid requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from otlp_arrow import OtlpLibrary, arrow_to_otlp, otlp_to_arrow, read_table, schema_for
from otlp_arrow.convert.anyvalue_json import any_value_json
from otlp_arrow.schema import META_VERSION, SCHEMA_VERSION
from tests.otlp_compare import assert_same, flatten
from tests.otlp_strategies import (
    ARRAY_OR_KVLIST,
    LOGS_REQUESTS,
    METRICS_REQUESTS,
    REQUESTS,
    TRACE_REQUESTS,
)


def _roundtrip(request: Any, signal: str) -> pa.Table:
    table = otlp_to_arrow(request)
    assert table.schema.equals(schema_for(signal), check_metadata=True)
    assert table.num_rows == len(flatten(request))
    assert_same(arrow_to_otlp(table, signal), request)
    return table


@given(TRACE_REQUESTS)
def test_traces_roundtrip(request: Any) -> None:
    _roundtrip(request, "traces")


@given(METRICS_REQUESTS)
def test_metrics_roundtrip(request: Any) -> None:
    _roundtrip(request, "metrics")


@given(LOGS_REQUESTS)
def test_logs_roundtrip(request: Any) -> None:
    _roundtrip(request, "logs")


@given(
    st.sampled_from(sorted(REQUESTS)).flatmap(
        lambda s: st.tuples(st.just(s), REQUESTS[s], REQUESTS[s])
    )
)
def test_tables_concatenated_from_two_requests_roundtrip(case: tuple[str, Any, Any]) -> None:
    """Rows of several requests in one table (as read from files) regroup losslessly."""
    signal, first, second = case
    table = pa.concat_tables([otlp_to_arrow(first), otlp_to_arrow(second)])
    merged = type(first)()
    merged.MergeFrom(first)
    merged.MergeFrom(second)
    assert_same(arrow_to_otlp(table, signal), merged)


@settings(max_examples=10)
@given(st.sampled_from(sorted(REQUESTS)).flatmap(lambda s: st.tuples(st.just(s), REQUESTS[s])))
def test_roundtrip_through_files(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, Any]
) -> None:
    signal, request = case
    out: Path = tmp_path_factory.mktemp("rt")
    with OtlpLibrary(output_dir=out, write_interval="10ms") as library:
        getattr(library, f"export_{signal}")(request)
    stored = read_table(out, signal)
    assert stored.schema.metadata[META_VERSION] == SCHEMA_VERSION.encode()
    assert_same(arrow_to_otlp(stored, signal), request)


def test_row_order_is_kept_within_a_scope() -> None:
    from tests import sample

    request = sample.traces(40, start_ns=1_700_000_000 * 10**9)
    names = [s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    back = arrow_to_otlp(otlp_to_arrow(request), "traces")
    assert back == request  # one resource per service, so even the grouping is identical
    assert [
        s.name for rs in back.resource_spans for ss in rs.scope_spans for s in ss.spans
    ] == names


@given(ARRAY_OR_KVLIST)
def test_array_and_kvlist_json_is_exactly_the_official_otlp_json(value: Any) -> None:
    """Our fast encoder writes what json_format.MessageToDict writes, byte for byte."""
    message = getattr(value, value.WhichOneof("value"))
    official = json_format.MessageToDict(message)
    assert any_value_json(message) == json.dumps(
        official, separators=(",", ":"), ensure_ascii=False
    )


def test_profile_string_indexes_nested_in_arrays_and_kvlists_survive() -> None:
    from tests import sample

    request = sample.traces(1, start_ns=10**18)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    kv = span.attributes.add(key="nested")
    inner = kv.value.kvlist_value.values.add(key="k", key_strindex=2)
    inner.value.array_value.values.add(string_value_strindex=3)
    kv.value.kvlist_value.values.add(key_strindex=5)  # a key only by index, and no value
    back = arrow_to_otlp(otlp_to_arrow(request), "traces")
    assert back.resource_spans[0].scope_spans[0].spans[0] == span


@pytest.mark.parametrize("signal", ["traces", "metrics", "logs"])
def test_a_slice_converts_like_a_copy_of_it(signal: str) -> None:
    from tests import sample

    request = {
        "traces": lambda: sample.traces(60, start_ns=10**18),
        "metrics": lambda: sample.metrics(60, time_ns=10**18),
        "logs": lambda: sample.logs(60, start_ns=10**18),
    }[signal]()
    table = otlp_to_arrow(request)
    part = table.slice(17, 25)  # offsets into children that start elsewhere
    copy = pa.Table.from_pylist(part.to_pylist(), schema=table.schema)
    assert arrow_to_otlp(part, signal) == arrow_to_otlp(copy, signal)

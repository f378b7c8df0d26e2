from __future__ import annotations

import pyarrow as pa

from otlp_arrow import arrow_to_otlp, otlp_to_arrow
from otlp_arrow.schema import (
    DERIVED_COLUMNS,
    DICT_STRING,
    EVENT,
    LOG_RECORD_COLUMNS,
    LOGS_SCHEMA,
    RESOURCE_COLUMNS,
    SCOPE_COLUMNS,
    SPAN_COLUMNS,
    TIMESTAMP,
    TRACES_SCHEMA,
    combine_batches,
    map_timestamps,
)
from tests import sample
from tests.otlp_compare import assert_same


def test_combine_batches_with_different_resource_dictionaries() -> None:
    first = sample.traces(6, start_ns=1, seed=1)
    second = sample.traces(6, start_ns=1, seed=2)
    second.resource_spans[0].resource.attributes[0].value.string_value = "another service"
    batches = [otlp_to_arrow(r).to_batches()[0] for r in (first, second)]
    combined = combine_batches(batches)
    assert isinstance(combined, pa.RecordBatch) and combined.num_rows == 12
    merged = type(first)()
    merged.MergeFrom(first)
    merged.MergeFrom(second)
    assert_same(arrow_to_otlp(combined, "traces"), merged)
    assert combine_batches(batches[:1]) is batches[0]


def test_map_timestamps_rewrites_nested_timestamps_and_optionally_dictionaries() -> None:
    nested = pa.list_(EVENT)
    as_int = map_timestamps(nested, pa.int64())
    assert as_int.value_type.field("time").type == pa.int64()
    assert as_int.value_type.field("name").type == DICT_STRING  # dictionaries kept
    assert as_int.value_type.field("attributes").type.key_type == DICT_STRING
    as_text = map_timestamps(nested, pa.string(), decode_dictionaries=True)
    assert as_text.value_type.field("time").type == pa.string()
    assert as_text.value_type.field("name").type == pa.string()
    assert as_text.value_type.field("attributes").type.key_type == pa.string()
    assert map_timestamps(TIMESTAMP, pa.int64()) == pa.int64()
    assert map_timestamps(DICT_STRING, pa.int64()) == DICT_STRING


def test_column_groups_cover_each_schema_once() -> None:
    for schema, own in ((TRACES_SCHEMA, SPAN_COLUMNS), (LOGS_SCHEMA, LOG_RECORD_COLUMNS)):
        derived = [name for name in DERIVED_COLUMNS if name in schema.names]
        groups = (*own, *RESOURCE_COLUMNS, *SCOPE_COLUMNS, *derived)
        assert sorted(groups) == sorted(schema.names)

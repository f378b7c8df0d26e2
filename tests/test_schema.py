from __future__ import annotations

import pyarrow as pa

from otlp_arrow import arrow_to_otlp, otlp_to_arrow
from otlp_arrow.schema import combine_batches
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

"""The native SDK log reader (``native/src/sdk_logs.rs``) against its specification, the
Python collector (``from_sdk.logs_to_arrow``): on generated ``ReadableLogRecord``s, the same
table whenever the native core takes them, and it takes every record made of plain values;
the rest (bytes or mapping bodies, odd attribute values) goes to the collector."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.trace import TraceFlags

from otlp_arrow import arrow_to_otlp
from otlp_arrow.convert.from_sdk import logs_to_arrow
from otlp_arrow.convert.native import convert_sdk_logs, uses_native
from tests import sdk_data
from tests.otlp_compare import assert_same
from tests.sdk_strategies import (
    ODD_VALUES,
    PLAIN_SCALARS,
    PLAIN_VALUES,
    RESOURCES,
    SCOPES,
    TEXT,
    agree,
    attributes,
    same,
)

pytestmark = pytest.mark.skipif(not uses_native("logs"), reason="the native core is not built")

TIME = st.none() | st.integers(0, 2**63 - 1)


@st.composite
def _record(draw: Any, values: st.SearchStrategy[Any], bodies: st.SearchStrategy[Any]) -> Any:
    with_context = draw(st.booleans())
    make: Any = LogRecord  # (its typed overloads keep trace ids and event names apart)
    record = make(
        timestamp=draw(TIME),
        observed_timestamp=draw(TIME),
        trace_id=draw(st.integers(0, 2**128 - 1)) if with_context else None,
        span_id=draw(st.integers(0, 2**64 - 1)) if with_context else None,
        trace_flags=TraceFlags(draw(st.integers(0, 255))) if with_context else None,
        severity_text=draw(st.none() | TEXT),
        severity_number=draw(st.none() | st.sampled_from(list(SeverityNumber))),
        body=draw(bodies),
        attributes=draw(attributes(values)),
        event_name=draw(st.none() | TEXT),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK's deprecation warnings of its own API
        return ReadableLogRecord(
            record, draw(st.sampled_from(RESOURCES)), draw(st.sampled_from(SCOPES))
        )


PLAIN_BODIES = st.none() | PLAIN_VALUES
ODD_BODIES = PLAIN_BODIES | st.binary(max_size=4) | st.dictionaries(TEXT, PLAIN_SCALARS)


@given(st.lists(_record(PLAIN_VALUES, PLAIN_BODIES), max_size=6))
def test_plain_records_are_read_natively_into_the_collectors_table(records: list[Any]) -> None:
    native = convert_sdk_logs(records)
    assert native is not None  # plain values: nothing for the collector to decide
    same(native, logs_to_arrow(records))


@given(st.lists(_record(PLAIN_VALUES | ODD_VALUES, ODD_BODIES), max_size=4))
def test_any_records_give_the_collectors_table_whoever_reads_them(records: list[Any]) -> None:
    agree("logs", records, logs_to_arrow, convert_sdk_logs)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_real_sdks_records_match_the_official_encoder() -> None:
    records = sdk_data.log_records()
    plain = [r for r in records if not isinstance(r.log_record.body, bytes | dict)]
    native = convert_sdk_logs(plain)
    assert native is not None and native.batch.num_rows == len(plain) > 5
    assert_same(arrow_to_otlp(native.batch, "logs"), encode_logs(plain))
    assert convert_sdk_logs(records) is None  # a bytes and a mapping body: the collector's

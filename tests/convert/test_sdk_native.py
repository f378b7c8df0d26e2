"""The native SDK span reader (``native/src/sdk_spans.rs``) against its specification, the
Python collector (``from_sdk.spans_to_arrow``): on generated spans, the same table whenever
the native core takes the spans, and it takes every span made of plain values; what it is not
sure of goes to the collector, which decides (and warns) as before."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.span import TraceState

from otlp_arrow import arrow_to_otlp
from otlp_arrow.convert.from_sdk import convert_sdk, spans_to_arrow
from otlp_arrow.convert.native import convert_sdk_spans, uses_native
from tests import sdk_data
from tests.otlp_compare import assert_same
from tests.sdk_strategies import (
    ODD_VALUES,
    PLAIN_VALUES,
    RESOURCES,
    SCOPES,
    TEXT,
    agree,
    attributes,
    same,
)

pytestmark = pytest.mark.skipif(not uses_native("traces"), reason="the native core is not built")


def _context(draw: Any) -> SpanContext:
    entries = draw(st.lists(st.sampled_from([("vendor", "abc"), ("other", "1")]), unique=True))
    return SpanContext(
        trace_id=draw(st.integers(0, 2**128 - 1)),
        span_id=draw(st.integers(0, 2**64 - 1)),
        is_remote=draw(st.booleans()),
        trace_state=TraceState(entries),
    )


@st.composite
def _span(draw: Any, values: st.SearchStrategy[Any], odd: bool = False) -> ReadableSpan:
    attrs = attributes(values)
    times = st.none() | st.integers(0, 2**64 - 1 if odd else 2**63 - 1)  # odd: beyond int64
    events = [
        Event(draw(TEXT), draw(attrs), draw(times), limit=draw(st.sampled_from([2, 128])))
        for _ in range(draw(st.integers(0, 2)))
    ]
    links = [Link(_context(draw), draw(attrs)) for _ in range(draw(st.integers(0, 2)))]
    code = draw(st.sampled_from(list(StatusCode)))
    description = draw(TEXT) if code is StatusCode.ERROR else None
    return ReadableSpan(
        name=draw(TEXT),
        context=_context(draw),
        parent=_context(draw) if draw(st.booleans()) else None,
        resource=draw(st.sampled_from(RESOURCES)),
        attributes=draw(attrs),
        events=events,
        links=links,
        kind=draw(st.sampled_from(list(SpanKind))),
        status=Status(code, description),
        start_time=draw(times),
        end_time=draw(times),
        instrumentation_scope=draw(st.sampled_from(SCOPES)),
    )


@given(st.lists(_span(PLAIN_VALUES), max_size=6))
def test_plain_spans_are_read_natively_into_the_collectors_table(spans: list[Any]) -> None:
    native = convert_sdk_spans(spans)
    assert native is not None  # plain values: nothing for the collector to decide
    same(native, spans_to_arrow(spans))


@given(st.lists(_span(PLAIN_VALUES | ODD_VALUES, odd=True), max_size=4))
def test_any_spans_give_the_collectors_table_whoever_reads_them(spans: list[Any]) -> None:
    agree("traces", spans, spans_to_arrow, convert_sdk_spans)


def test_the_real_sdks_spans_match_the_official_encoder_on_the_native_route() -> None:
    spans = sdk_data.spans()
    native = convert_sdk_spans(spans)
    assert native is not None
    assert_same(arrow_to_otlp(native.batch, "traces"), encode_spans(spans))


def test_what_the_native_core_is_not_sure_of_goes_to_the_collector(
    caplog: pytest.LogCaptureFixture,
) -> None:
    [span] = sdk_data.spans()[:1]
    for odd in (2**64, b"raw", None, {"k": "v"}, "\ud800", ("a", ("b",))):
        span._attributes = {"ok": 1, "odd": odd}
        assert convert_sdk_spans([span]) is None, odd
    span._attributes = {"ok": 1, "huge": 2**70}
    with caplog.at_level(logging.WARNING):
        converted = convert_sdk("traces", [span])
    assert converted is not None
    same(converted, spans_to_arrow([span]))
    assert "attribute 'huge' left out" in caplog.text  # the collector's own words


def test_interleaved_resources_keep_the_input_order() -> None:
    spans = sdk_data.spans()
    mixed = [spans[0], spans[-1], spans[1], spans[-2], spans[2]]  # checkout, pay, checkout...
    native = convert_sdk_spans(mixed)
    assert native is not None
    same(native, spans_to_arrow(mixed))
    assert native.batch.column("name").to_pylist() == [s.name for s in mixed]

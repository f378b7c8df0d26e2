"""The native SDK walk of benches/bench_exporters.py (issue #11, point 4: what reading the SDK
objects from Rust costs): it must read every span, attribute, event and link the Python
collector reads, or its timing measures less than the real work."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from otlp_arrow.convert.native import uses_native
from tests import sdk_data


def test_the_walk_reads_every_span_attribute_event_and_link() -> None:
    if not uses_native("traces"):
        pytest.skip("the native core is not built")
    walk = importlib.import_module("otlp_arrow._native").sdk_span_walk

    spans = sdk_data.spans()
    walked, attributes, events, links, _ = walk(spans)
    assert walked == len(spans)
    assert events == sum(len(s.events) for s in spans)
    assert links == sum(len(s.links) for s in spans)
    assert events > 0 and links > 0
    expected = sum(_attributes_of(s) for s in spans)
    assert attributes == expected
    assert expected > 0


def _attributes_of(span: Any) -> int:
    """The span's attributes, its events' and its links'."""
    items = [span.attributes, *(e.attributes for e in span.events)]
    return sum(len(a or {}) for a in items + [link.attributes for link in span.links])


def test_the_walk_of_something_else_is_a_python_error() -> None:
    if not uses_native("traces"):
        pytest.skip("the native core is not built")
    walk = importlib.import_module("otlp_arrow._native").sdk_span_walk
    with pytest.raises(AttributeError, match="resource"):
        walk([object()])
    with pytest.raises(TypeError):
        walk(42)

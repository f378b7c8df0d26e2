"""Hypothesis strategies of OpenTelemetry SDK objects' parts (resources, scopes, attribute
values plain and odd), for the differential tests of the native SDK readers
(``tests/convert/test_sdk_native*.py``), and the comparison they share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import strategies as st
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otlp_arrow.convert.from_sdk import convert_sdk
from otlp_arrow.errors import ConversionError
from tests.native_compare import outcome_difference

RESOURCES = [
    Resource.create({"service.name": "checkout", "host.cpu.count": 8}),
    Resource({"service.name": "pay"}, schema_url="https://opentelemetry.io/schemas/1.26.0"),
    Resource({}),
    Resource({"service.name": 7, "k": ("a", "b")}),  # a service name that is no string
]
SCOPES = [
    None,
    InstrumentationScope("shop", "1.2", "https://example.com/s", {"scope.attr": 1}),
    InstrumentationScope("db"),
    InstrumentationScope(""),
]
TEXT = st.text(max_size=12)
PLAIN_SCALARS = st.one_of(
    TEXT,
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
)
PLAIN_VALUES = st.one_of(
    PLAIN_SCALARS,
    st.lists(PLAIN_SCALARS, max_size=4).map(tuple),  # what the SDK stores
    st.lists(PLAIN_SCALARS, max_size=3),
)
ODD_VALUES = st.one_of(
    st.integers(2**63, 2**70) | st.integers(-(2**70), -(2**63) - 1),
    st.binary(max_size=4),
    st.none(),
    st.just(("nested", ("tuple",))),
    st.dictionaries(TEXT, PLAIN_SCALARS, max_size=2),
    st.just(object()),
)


def attributes(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    plain = st.dictionaries(TEXT, values, max_size=5)
    bounded = plain.map(lambda d: BoundedAttributes(maxlen=3, attributes=d, immutable=False))
    return plain | bounded | st.none()


def same(native: Any, expected: Any) -> None:
    """The same outcome: schema, columns bit for bit (NaNs too), rejections."""
    assert outcome_difference(expected, native) is None, outcome_difference(expected, native)


def agree(
    signal: Any, data: Any, collector: Callable[[Any], Any], reader: Callable[[Any], Any]
) -> None:
    """The Python ``collector``'s outcome for SDK ``data``, the native ``reader``'s when it
    takes the data, and ``convert_sdk``'s are the same; a ConversionError of the collector is
    ``convert_sdk``'s too, and the reader then leaves the data to it."""
    logging.disable(logging.WARNING)  # the collector's "attribute left out" warnings
    try:
        try:
            expected = collector(data)
        except ConversionError as exc:  # e.g. a time beyond the timestamp range
            assert reader(data) is None
            with pytest.raises(ConversionError) as raised:
                convert_sdk(signal, data)
            assert str(raised.value) == str(exc)
            return
        native = reader(data)
        converted = convert_sdk(signal, data)
    finally:
        logging.disable(logging.NOTSET)
    if native is not None:
        same(native, expected)
    assert converted is not None
    same(converted, expected)

"""The Arrow schemas of the three signals: the single source of truth.

One row per span, per metric data point, per log record. See ``docs/schema.md`` for the
meaning of every column and the rules that make the mapping lossless.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import pyarrow as pa

from otlp_arrow.errors import ConversionError

Signal = Literal["traces", "metrics", "logs"]
SIGNALS: Final[tuple[Signal, ...]] = get_args(Signal)

#: Bumped whenever a column is added, removed or changes meaning. Stored in the schema metadata.
SCHEMA_VERSION: Final = "1"
META_VERSION: Final = b"otlp_arrow.schema_version"
META_SIGNAL: Final = b"otlp_arrow.signal"

TIMESTAMP: Final = pa.timestamp("ns", tz="UTC")
TRACE_ID: Final = pa.binary(16)
SPAN_ID: Final = pa.binary(8)

#: An OTLP ``AnyValue``: exactly one field is non-null, or none for an empty AnyValue.
#: Arrays and kvlists hold the OTLP/JSON text of the ``ArrayValue`` / ``KeyValueList``.
ANY_VALUE: Final = pa.struct(
    [
        ("string_value", pa.string()),
        ("bool_value", pa.bool_()),
        ("int_value", pa.int64()),
        ("double_value", pa.float64()),
        ("bytes_value", pa.binary()),
        ("array_value", pa.string()),
        ("kvlist_value", pa.string()),
    ]
)
ANY_VALUE_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in ANY_VALUE)

#: Repetitive strings (names, keys, services, scopes) are dictionary-encoded: it halves the
#: files (docs/performance.md) and every reader decodes it transparently.
DICT_STRING: Final = pa.dictionary(pa.int32(), pa.string())

#: OTLP attributes (``repeated KeyValue``), in order. A null item is a KeyValue without value.
ATTRIBUTES: Final = pa.map_(DICT_STRING, ANY_VALUE)

ENTITY_REF: Final = pa.struct(
    [
        ("schema_url", pa.string()),
        ("type", pa.string()),
        ("id_keys", pa.list_(pa.string())),
        ("description_keys", pa.list_(pa.string())),
    ]
)

_RESOURCE_AND_SCOPE: Final = [
    pa.field("service_name", DICT_STRING),
    pa.field("resource_attributes", ATTRIBUTES),
    pa.field("resource_dropped_attributes_count", pa.uint32()),
    pa.field("resource_entity_refs", pa.list_(ENTITY_REF)),
    pa.field("resource_schema_url", DICT_STRING, nullable=False),
    pa.field("scope_name", DICT_STRING),
    pa.field("scope_version", DICT_STRING),
    pa.field("scope_attributes", ATTRIBUTES),
    pa.field("scope_dropped_attributes_count", pa.uint32()),
    pa.field("scope_schema_url", DICT_STRING, nullable=False),
]

EVENT: Final = pa.struct(
    [
        ("time", TIMESTAMP),
        ("name", DICT_STRING),
        ("attributes", ATTRIBUTES),
        ("dropped_attributes_count", pa.uint32()),
    ]
)
LINK: Final = pa.struct(
    [
        ("trace_id", TRACE_ID),
        ("span_id", SPAN_ID),
        ("trace_state", pa.string()),
        ("attributes", ATTRIBUTES),
        ("dropped_attributes_count", pa.uint32()),
        ("flags", pa.uint32()),
    ]
)
EXEMPLAR: Final = pa.struct(
    [
        ("filtered_attributes", ATTRIBUTES),
        ("time", TIMESTAMP),
        ("value_double", pa.float64()),
        ("value_int", pa.int64()),
        ("span_id", SPAN_ID),
        ("trace_id", TRACE_ID),
    ]
)
QUANTILE: Final = pa.struct([("quantile", pa.float64()), ("value", pa.float64())])


def _schema(signal: Signal, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(
        fields + _RESOURCE_AND_SCOPE,
        metadata={META_VERSION: SCHEMA_VERSION.encode(), META_SIGNAL: signal.encode()},
    )


TRACES_SCHEMA: Final = _schema(
    "traces",
    [
        pa.field("trace_id", TRACE_ID, nullable=False),
        pa.field("span_id", SPAN_ID, nullable=False),
        pa.field("parent_span_id", SPAN_ID),
        pa.field("trace_state", DICT_STRING, nullable=False),
        pa.field("flags", pa.uint32(), nullable=False),
        pa.field("name", DICT_STRING, nullable=False),
        pa.field("kind", pa.int32(), nullable=False),
        pa.field("start_time", TIMESTAMP),
        pa.field("end_time", TIMESTAMP),
        pa.field("duration_ns", pa.int64()),
        pa.field("status_code", pa.int32()),
        pa.field("status_message", DICT_STRING),
        pa.field("attributes", ATTRIBUTES, nullable=False),
        pa.field("dropped_attributes_count", pa.uint32(), nullable=False),
        pa.field("events", pa.list_(EVENT), nullable=False),
        pa.field("dropped_events_count", pa.uint32(), nullable=False),
        pa.field("links", pa.list_(LINK), nullable=False),
        pa.field("dropped_links_count", pa.uint32(), nullable=False),
    ],
)

#: The columns that come from the ``Metric`` message (the same for all its data points),
#: except ``metric_metadata``.
METRIC_COLUMNS: Final = (
    "metric_name",
    "metric_description",
    "metric_unit",
    "metric_type",
    "aggregation_temporality",
    "is_monotonic",
)

METRICS_SCHEMA: Final = _schema(
    "metrics",
    [
        pa.field("metric_name", DICT_STRING, nullable=False),
        pa.field("metric_description", DICT_STRING, nullable=False),
        pa.field("metric_unit", DICT_STRING, nullable=False),
        pa.field("metric_type", DICT_STRING, nullable=False),
        pa.field("aggregation_temporality", pa.int32()),
        pa.field("is_monotonic", pa.bool_()),
        pa.field("metric_metadata", ATTRIBUTES, nullable=False),
        pa.field("attributes", ATTRIBUTES, nullable=False),
        pa.field("start_time", TIMESTAMP),
        pa.field("time", TIMESTAMP),
        pa.field("flags", pa.uint32(), nullable=False),
        pa.field("value_double", pa.float64()),
        pa.field("value_int", pa.int64()),
        pa.field("count", pa.uint64()),
        pa.field("sum", pa.float64()),
        pa.field("min", pa.float64()),
        pa.field("max", pa.float64()),
        pa.field("bucket_counts", pa.list_(pa.uint64())),
        pa.field("explicit_bounds", pa.list_(pa.float64())),
        pa.field("scale", pa.int32()),
        pa.field("zero_count", pa.uint64()),
        pa.field("zero_threshold", pa.float64()),
        pa.field("positive_offset", pa.int32()),
        pa.field("positive_bucket_counts", pa.list_(pa.uint64())),
        pa.field("negative_offset", pa.int32()),
        pa.field("negative_bucket_counts", pa.list_(pa.uint64())),
        pa.field("quantile_values", pa.list_(QUANTILE)),
        pa.field("exemplars", pa.list_(EXEMPLAR)),
    ],
)

LOGS_SCHEMA: Final = _schema(
    "logs",
    [
        pa.field("time", TIMESTAMP),
        pa.field("observed_time", TIMESTAMP),
        pa.field("severity_number", pa.int32(), nullable=False),
        pa.field("severity_text", DICT_STRING, nullable=False),
        pa.field("body", ANY_VALUE),
        pa.field("attributes", ATTRIBUTES, nullable=False),
        pa.field("dropped_attributes_count", pa.uint32(), nullable=False),
        pa.field("flags", pa.uint32(), nullable=False),
        pa.field("trace_id", TRACE_ID),
        pa.field("span_id", SPAN_ID),
        pa.field("event_name", DICT_STRING, nullable=False),
    ],
)

SCHEMAS: Final[dict[Signal, pa.Schema]] = {
    "traces": TRACES_SCHEMA,
    "metrics": METRICS_SCHEMA,
    "logs": LOGS_SCHEMA,
}


#: Columns computed from others for convenience; no OTLP field of their own.
DERIVED_COLUMNS: Final = ("service_name", "duration_ns")
#: The columns of the ``Resource`` (and the ``ResourceX`` schema URL), in schema order.
RESOURCE_COLUMNS: Final = tuple(
    f.name for f in _RESOURCE_AND_SCOPE if f.name.startswith("resource_")
)
#: The columns of the ``InstrumentationScope`` (and the ``ScopeX`` schema URL).
SCOPE_COLUMNS: Final = tuple(f.name for f in _RESOURCE_AND_SCOPE if f.name.startswith("scope_"))


def _item_columns(schema: pa.Schema) -> tuple[str, ...]:
    shared = {f.name for f in _RESOURCE_AND_SCOPE}
    return tuple(n for n in schema.names if n not in shared and n not in DERIVED_COLUMNS)


#: The columns of a ``Span`` / ``LogRecord`` message, in schema order.
SPAN_COLUMNS: Final = _item_columns(TRACES_SCHEMA)
LOG_RECORD_COLUMNS: Final = _item_columns(LOGS_SCHEMA)


def as_signal(name: str) -> Signal:
    """``name`` as a ``Signal``; ConversionError naming the signals if it is none of them."""
    for signal in SIGNALS:
        if signal == name:
            return signal
    raise ConversionError(f"unknown signal {name!r}: expected one of {', '.join(SIGNALS)}")


def schema_for(signal: str) -> pa.Schema:
    """The Arrow schema of ``signal`` ("traces", "metrics" or "logs")."""
    return SCHEMAS[as_signal(signal)]


def conform(data: pa.Table | pa.RecordBatch, signal: str) -> pa.Table:
    """``data`` as a table of exactly ``signal``'s schema (columns selected, types cast).

    Raises ConversionError naming the missing columns or the mismatch.
    """
    schema = schema_for(signal)
    missing = [name for name in schema.names if name not in data.schema.names]
    if missing:
        raise ConversionError(
            f"table is not of the {signal} schema: missing column(s) {', '.join(missing)}"
        )
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ConversionError(f"table does not match the {signal} schema: {exc}") from exc


def map_timestamps(
    type_: pa.DataType, to: pa.DataType, *, decode_dictionaries: bool = False
) -> pa.DataType:
    """``type_`` with every timestamp in it, at any depth (lists, maps, structs), replaced by
    ``to``; with ``decode_dictionaries`` every dictionary type also by its value type."""

    def rewrite(t: pa.DataType) -> pa.DataType:  # isinstance: as pa.types.is_*, cheaper
        if isinstance(t, pa.TimestampType):
            return to
        if isinstance(t, pa.DictionaryType):
            return rewrite(t.value_type) if decode_dictionaries else t
        if isinstance(t, pa.MapType):
            return pa.map_(rewrite(t.key_type), rewrite(t.item_type))
        if isinstance(t, pa.ListType):
            return pa.list_(rewrite(t.value_type))
        if isinstance(t, pa.StructType):
            return pa.struct([f.with_type(rewrite(f.type)) for f in t])
        return t

    return rewrite(type_)


def combine_batches(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    """One record batch of the rows of ``batches`` (all of one schema); dictionaries of
    dictionary-encoded columns are unified."""
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]

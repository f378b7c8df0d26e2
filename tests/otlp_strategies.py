"""Hypothesis strategies for arbitrary valid OTLP export requests of all three signals."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    EntityRef,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    Exemplar,
    ExponentialHistogramDataPoint,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    SummaryDataPoint,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)
I32 = st.integers(-(2**31), 2**31 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)
TIME = st.one_of(st.just(0), st.integers(1, 2**63 - 1))  # 0 = unset
TEXT = st.text(max_size=12)
DOUBLE = st.floats(allow_nan=True, allow_infinity=True)
# Inside arrays/kvlists values travel as OTLP/JSON, where NaN is just "NaN": no sign/payload.
JSON_DOUBLE = DOUBLE.map(lambda x: math.nan if math.isnan(x) else x)
SMALL = {"max_size": 3}


def _scalar(double: st.SearchStrategy[float]) -> st.SearchStrategy[AnyValue]:
    return st.one_of(
        st.just(AnyValue()),
        TEXT.map(lambda v: AnyValue(string_value=v)),
        st.booleans().map(lambda v: AnyValue(bool_value=v)),
        I64.map(lambda v: AnyValue(int_value=v)),
        double.map(lambda v: AnyValue(double_value=v)),
        st.binary(max_size=8).map(lambda v: AnyValue(bytes_value=v)),
    )


def _nested(children: st.SearchStrategy[AnyValue]) -> st.SearchStrategy[AnyValue]:
    kvs = st.lists(st.tuples(TEXT, st.one_of(st.none(), children)), **SMALL)
    return st.one_of(
        st.lists(children, **SMALL).map(lambda v: AnyValue(array_value=ArrayValue(values=v))),
        kvs.map(lambda v: AnyValue(kvlist_value=KeyValueList(values=[_kv(k, x) for k, x in v]))),
    )


NESTED_VALUE = st.recursive(_scalar(JSON_DOUBLE), _nested, max_leaves=6)
ARRAY_OR_KVLIST = _nested(NESTED_VALUE)
ANY_VALUE = st.one_of(_scalar(DOUBLE), ARRAY_OR_KVLIST)


def _kv(key: str, value: AnyValue | None) -> KeyValue:
    return KeyValue(key=key) if value is None else KeyValue(key=key, value=value)


ATTRIBUTES = st.lists(
    st.tuples(TEXT, st.one_of(st.none(), ANY_VALUE)), max_size=4, unique_by=lambda kv: kv[0]
).map(lambda kvs: [_kv(k, v) for k, v in kvs])

ENTITY_REF = st.builds(
    EntityRef,
    schema_url=TEXT,
    type=TEXT,
    id_keys=st.lists(TEXT, **SMALL),
    description_keys=st.lists(TEXT, **SMALL),
)
RESOURCE = st.one_of(
    st.none(),
    st.builds(
        Resource,
        attributes=ATTRIBUTES,
        dropped_attributes_count=U32,
        entity_refs=st.lists(ENTITY_REF, max_size=2),
    ),
)
SCOPE = st.one_of(
    st.none(),
    st.builds(
        InstrumentationScope,
        name=TEXT,
        version=TEXT,
        attributes=ATTRIBUTES,
        dropped_attributes_count=U32,
    ),
)
TRACE_ID = st.binary(min_size=16, max_size=16)
SPAN_ID = st.binary(min_size=8, max_size=8)
OPT_TRACE_ID = st.one_of(st.just(b""), TRACE_ID)
OPT_SPAN_ID = st.one_of(st.just(b""), SPAN_ID)
ENUM = st.integers(0, 30)  # proto3 enums are open: unknown numbers must survive too


def _with(message: Any, **fields: Any) -> Any:
    """Set message fields only where the value is not None (presence matters)."""
    for name, value in fields.items():
        if value is not None:
            getattr(message, name).CopyFrom(value)
    return message


EVENT = st.builds(
    Span.Event, time_unix_nano=TIME, name=TEXT, attributes=ATTRIBUTES, dropped_attributes_count=U32
)
LINK = st.builds(
    Span.Link,
    trace_id=TRACE_ID,
    span_id=SPAN_ID,
    trace_state=TEXT,
    attributes=ATTRIBUTES,
    dropped_attributes_count=U32,
    flags=U32,
)
STATUS = st.one_of(st.none(), st.builds(Status, code=ENUM, message=TEXT))


@st.composite
def spans(draw: st.DrawFn) -> Span:
    span = Span(
        trace_id=draw(TRACE_ID),
        span_id=draw(SPAN_ID),
        parent_span_id=draw(OPT_SPAN_ID),
        trace_state=draw(TEXT),
        flags=draw(U32),
        name=draw(TEXT),
        kind=draw(ENUM),
        start_time_unix_nano=draw(TIME),
        end_time_unix_nano=draw(TIME),
        attributes=draw(ATTRIBUTES),
        dropped_attributes_count=draw(U32),
        events=draw(st.lists(EVENT, max_size=2)),
        dropped_events_count=draw(U32),
        links=draw(st.lists(LINK, max_size=2)),
        dropped_links_count=draw(U32),
    )
    return _with(span, status=draw(STATUS))  # type: ignore[no-any-return]


def _requests(
    request_type: Any,
    resource_type: Any,
    scope_type: Any,
    scopes_field: str,
    items_field: str,
    items: st.SearchStrategy[Any],
) -> st.SearchStrategy[Any]:
    @st.composite
    def build(draw: st.DrawFn) -> Any:
        request = request_type()
        for _ in range(draw(st.integers(0, 3))):
            holder = _with(resource_type(schema_url=draw(TEXT)), resource=draw(RESOURCE))
            for _ in range(draw(st.integers(1, 2))):
                scope = _with(scope_type(schema_url=draw(TEXT)), scope=draw(SCOPE))
                getattr(scope, items_field).extend(draw(st.lists(items, min_size=1, max_size=3)))
                getattr(holder, scopes_field).append(scope)
            getattr(request, request.DESCRIPTOR.fields[0].name).append(holder)
        return request

    return build()


TRACE_REQUESTS = _requests(
    ExportTraceServiceRequest, ResourceSpans, ScopeSpans, "scope_spans", "spans", spans()
)

EXEMPLAR = st.builds(
    lambda attrs, time, value, span_id, trace_id: Exemplar(
        filtered_attributes=attrs, time_unix_nano=time, span_id=span_id, trace_id=trace_id, **value
    ),
    ATTRIBUTES,
    TIME,
    st.one_of(
        st.just({}), DOUBLE.map(lambda v: {"as_double": v}), I64.map(lambda v: {"as_int": v})
    ),
    OPT_SPAN_ID,
    OPT_TRACE_ID,
)
_POINT_COMMON = {
    "attributes": ATTRIBUTES,
    "start_time_unix_nano": TIME,
    "time_unix_nano": TIME,
    "flags": U32,
}
_OPT_DOUBLE = st.one_of(st.none(), DOUBLE)


def _number_point(**value: Any) -> NumberDataPoint:
    return NumberDataPoint(**{k: v for k, v in value.items() if v is not None})


NUMBER_POINT = st.builds(
    _number_point,
    **_POINT_COMMON,
    exemplars=st.lists(EXEMPLAR, max_size=2),
    as_double=_OPT_DOUBLE,
    as_int=st.one_of(st.none(), I64),
).filter(lambda p: not (p.HasField("as_double") and p.HasField("as_int")))
HISTOGRAM_POINT = st.builds(
    lambda **kw: HistogramDataPoint(**{k: v for k, v in kw.items() if v is not None}),
    **_POINT_COMMON,
    exemplars=st.lists(EXEMPLAR, max_size=2),
    count=U64,
    sum=_OPT_DOUBLE,
    bucket_counts=st.lists(U64, max_size=4),
    explicit_bounds=st.lists(DOUBLE, max_size=3),
    min=_OPT_DOUBLE,
    max=_OPT_DOUBLE,
)
BUCKETS = st.one_of(
    st.none(),
    st.builds(
        ExponentialHistogramDataPoint.Buckets, offset=I32, bucket_counts=st.lists(U64, max_size=4)
    ),
)
EXP_POINT = st.builds(
    lambda positive, negative, **kw: _with(
        ExponentialHistogramDataPoint(**{k: v for k, v in kw.items() if v is not None}),
        positive=positive,
        negative=negative,
    ),
    **_POINT_COMMON,
    exemplars=st.lists(EXEMPLAR, max_size=2),
    count=U64,
    sum=_OPT_DOUBLE,
    scale=I32,
    zero_count=U64,
    positive=BUCKETS,
    negative=BUCKETS,
    min=_OPT_DOUBLE,
    max=_OPT_DOUBLE,
    zero_threshold=DOUBLE,
)
SUMMARY_POINT = st.builds(
    SummaryDataPoint,
    **_POINT_COMMON,
    count=U64,
    sum=DOUBLE,
    quantile_values=st.lists(
        st.builds(SummaryDataPoint.ValueAtQuantile, quantile=DOUBLE, value=DOUBLE), max_size=3
    ),
)


@st.composite
def metrics(draw: st.DrawFn) -> Metric:
    metric = Metric(
        name=draw(TEXT), description=draw(TEXT), unit=draw(TEXT), metadata=draw(ATTRIBUTES)
    )
    kind = draw(st.sampled_from(["gauge", "sum", "histogram", "exponential_histogram", "summary"]))
    points = {
        "gauge": NUMBER_POINT,
        "sum": NUMBER_POINT,
        "histogram": HISTOGRAM_POINT,
        "exponential_histogram": EXP_POINT,
        "summary": SUMMARY_POINT,
    }[kind]
    data = getattr(metric, kind)
    data.data_points.extend(draw(st.lists(points, min_size=1, max_size=3)))
    if kind not in ("gauge", "summary"):
        data.aggregation_temporality = draw(ENUM)
    if kind == "sum":
        data.is_monotonic = draw(st.booleans())
    return metric


METRICS_REQUESTS = _requests(
    ExportMetricsServiceRequest,
    ResourceMetrics,
    ScopeMetrics,
    "scope_metrics",
    "metrics",
    metrics(),
)


@st.composite
def log_records(draw: st.DrawFn) -> LogRecord:
    record = LogRecord(
        time_unix_nano=draw(TIME),
        observed_time_unix_nano=draw(TIME),
        severity_number=draw(ENUM),
        severity_text=draw(TEXT),
        attributes=draw(ATTRIBUTES),
        dropped_attributes_count=draw(U32),
        flags=draw(U32),
        trace_id=draw(OPT_TRACE_ID),
        span_id=draw(OPT_SPAN_ID),
        event_name=draw(TEXT),
    )
    return _with(record, body=draw(st.one_of(st.none(), ANY_VALUE)))  # type: ignore[no-any-return]


LOGS_REQUESTS = _requests(
    ExportLogsServiceRequest, ResourceLogs, ScopeLogs, "scope_logs", "log_records", log_records()
)
REQUESTS = {"traces": TRACE_REQUESTS, "metrics": METRICS_REQUESTS, "logs": LOGS_REQUESTS}

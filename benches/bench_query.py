"""Query speed over stored spans, against DuckDB over the same spans as OTLP JSON Lines.

    .venv/bin/python benches/bench_query.py [--spans 10000000] [--dir DIR] [--keep]

Generates ``--spans`` spans (8 per trace, 10 services, 20 span names, 1% errors, start times
spread over the last three hours, five attributes each) and writes them twice, in the same
run: through ``OtlpLibrary`` (Arrow IPC files, sealed as Parquet), and as OTLP JSON Lines
(one ExportTraceServiceRequest of 1,000 spans per line: what the OpenTelemetry Collector's
file exporter or the ``otlp-json-file`` exporter leave). Then it answers three questions both
ways and checks that the answers agree:

1. find one trace by id (all its spans);
2. p99 duration per service over the last hour;
3. errors per span name.

Ours: ``otlp_arrow.connect(dir)`` (``traces(trace_id=...)`` for the lookup, ``sql()`` for the
others). Peer: ``duckdb.sql`` with ``read_json`` over the JSON Lines file. Target: every
question at least 20x faster than the peer, and the lookup under a second.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from otlp_arrow import OtlpLibrary, connect
from otlp_arrow.schema import conform, schema_for

CHUNK = 500_000
SPANS_PER_TRACE = 8
SERVICES = [f"service-{i}" for i in range(10)]
NAMES = [f"operation-{i}" for i in range(20)]
ROUTES = ["/", "/cart", "/checkout", "/products/{id}", "/search"]
WINDOW_NS = 3 * 3600 * 10**9


def chunk(n: int, first: int, now_ns: int, rng: np.random.Generator) -> dict[str, Any]:
    """Columns of ``n`` spans (numpy arrays); span ``first + i`` of the whole run."""
    index = np.arange(first, first + n)
    trace = index // SPANS_PER_TRACE
    trace_ids = np.zeros((n, 16), dtype=np.uint8)
    trace_ids[:, :8] = (trace * 2654435761 + 97).astype(">u8").view(np.uint8).reshape(n, 8)
    trace_ids[:, 8:] = trace.astype(">u8").view(np.uint8).reshape(n, 8)
    span_ids = (index + 1).astype(">u8").view(np.uint8).reshape(n, 8)
    is_root = index % SPANS_PER_TRACE == 0
    parent_ids = (index - index % SPANS_PER_TRACE + 1).astype(">u8").view(np.uint8).reshape(n, 8)
    trace_start = now_ns - WINDOW_NS + (trace * 7919 % 10**6) * (WINDOW_NS // 10**6)
    start = trace_start + (index % SPANS_PER_TRACE) * 1_000_000
    duration = rng.lognormal(16, 1.0, n).astype(np.int64) + 1000
    return {
        "trace_id": trace_ids,
        "span_id": span_ids,
        "parent_id": parent_ids,
        "is_root": is_root,
        "name": rng.integers(0, len(NAMES), n),
        "service": (trace + index % SPANS_PER_TRACE) % len(SERVICES),
        "kind": np.where(is_root, 2, 3),
        "start": start,
        "end": start + duration,
        "error": rng.random(n) < 0.01,
        "route": rng.integers(0, len(ROUTES), n),
        "status_code": np.where(rng.random(n) < 0.02, 500, 200),
        "user": rng.integers(0, 100_000, n),
    }


def _fixed(ids: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Rows of a uint8 matrix as fixed_size_binary (null where ``mask``)."""
    n, width = ids.shape
    validity = None
    if mask is not None:
        validity = pa.array(~mask).buffers()[1]
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), n, [validity, pa.py_buffer(ids.tobytes())]
    )


def _empty_lists(n: int, list_type: pa.DataType) -> pa.Array:
    offsets = pa.array(np.zeros(n + 1, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array([], list_type.value_type))


def _hex(ids: np.ndarray) -> list[str]:
    text = ids.tobytes().hex()
    width = ids.shape[1] * 2
    return [text[i : i + width] for i in range(0, len(text), width)]


def to_table(c: dict[str, Any]) -> pa.Table:
    n = len(c["start"])
    schema = schema_for("traces")
    value_type = schema.field("attributes").type.item_type
    keys = ["http.route", "http.response.status_code", "user.id", "db.rows", "cache.hit"]
    strings = np.empty(n * 5, dtype=object)
    strings[0::5] = np.array(ROUTES, dtype=object)[c["route"]]
    strings[2::5] = np.char.add("user-", c["user"].astype(str)).astype(object)
    ints = np.full(n * 5, None, dtype=object)
    ints[1::5] = c["status_code"]
    ints[3::5] = c["user"] % 500
    bools = np.full(n * 5, None, dtype=object)
    bools[4::5] = c["user"] % 3 == 0
    values = pa.StructArray.from_arrays(
        [
            pa.array(strings, pa.string()),
            pa.array(bools, pa.bool_()),
            pa.array(ints, pa.int64()),
            pa.nulls(n * 5, pa.float64()),
            pa.nulls(n * 5, pa.binary()),
            pa.nulls(n * 5, pa.string()),
            pa.nulls(n * 5, pa.string()),
        ],
        fields=list(value_type),
    )
    attributes = pa.MapArray.from_arrays(
        pa.array(np.arange(0, n * 5 + 1, 5, dtype=np.int32)),
        pa.array(np.tile(np.array(keys, dtype=object), n), pa.string()),
        values,
    )
    service = np.array(SERVICES, dtype=object)[c["service"]]
    resource = pa.MapArray.from_arrays(
        pa.array(np.arange(0, n + 1, dtype=np.int32)),
        pa.array(np.full(n, "service.name", dtype=object), pa.string()),
        pa.StructArray.from_arrays(
            [pa.array(service, pa.string())] + [pa.nulls(n, f.type) for f in list(value_type)[1:]],
            fields=list(value_type),
        ),
    )
    columns = {
        "trace_id": _fixed(c["trace_id"]),
        "span_id": _fixed(c["span_id"]),
        "parent_span_id": _fixed(c["parent_id"], c["is_root"]),
        "trace_state": pa.array(np.full(n, "", dtype=object), pa.string()),
        "flags": pa.array(np.full(n, 257, dtype=np.uint32)),
        "name": pa.array(np.array(NAMES, dtype=object)[c["name"]], pa.string()),
        "kind": pa.array(c["kind"].astype(np.int32)),
        "start_time": pa.array(c["start"], pa.timestamp("ns", "UTC")),
        "end_time": pa.array(c["end"], pa.timestamp("ns", "UTC")),
        "duration_ns": pa.array(c["end"] - c["start"]),
        "status_code": pa.array(np.where(c["error"], 2, 0).astype(np.int32)),
        "status_message": pa.nulls(n, pa.string()),
        "attributes": attributes,
        "dropped_attributes_count": pa.array(np.zeros(n, dtype=np.uint32)),
        "events": _empty_lists(n, schema.field("events").type),
        "dropped_events_count": pa.array(np.zeros(n, dtype=np.uint32)),
        "links": _empty_lists(n, schema.field("links").type),
        "dropped_links_count": pa.array(np.zeros(n, dtype=np.uint32)),
        "service_name": pa.array(service, pa.string()),
        "resource_attributes": resource,
        "resource_dropped_attributes_count": pa.array(np.zeros(n, dtype=np.uint32)),
        "resource_entity_refs": pa.nulls(n, schema.field("resource_entity_refs").type),
        "resource_schema_url": pa.array(np.full(n, "", dtype=object), pa.string()),
        "scope_name": pa.array(np.full(n, "bench", dtype=object), pa.string()),
        "scope_version": pa.array(np.full(n, "1.0", dtype=object), pa.string()),
        "scope_attributes": pa.nulls(n, schema.field("scope_attributes").type),
        "scope_dropped_attributes_count": pa.array(np.zeros(n, dtype=np.uint32)),
        "scope_schema_url": pa.array(np.full(n, "", dtype=object), pa.string()),
    }
    return conform(pa.table(columns), "traces")


def json_lines(c: dict[str, Any], per_request: int = 1000) -> list[str]:
    """OTLP/JSON requests, one per line: spans grouped by service (resource) per request."""
    trace_hex, span_hex, parent_hex = _hex(c["trace_id"]), _hex(c["span_id"]), _hex(c["parent_id"])
    lines = []
    n = len(trace_hex)
    for first in range(0, n, per_request):
        by_service: dict[int, list[str]] = {}
        for i in range(first, min(first + per_request, n)):
            parent = "" if c["is_root"][i] else f'"parentSpanId":"{parent_hex[i]}",'
            status = '{"code":2}' if c["error"][i] else "{}"
            user = int(c["user"][i])
            cached = "true" if user % 3 == 0 else "false"
            by_service.setdefault(int(c["service"][i]), []).append(
                f'{{"traceId":"{trace_hex[i]}","spanId":"{span_hex[i]}",{parent}'
                f'"flags":257,"name":"{NAMES[c["name"][i]]}","kind":{int(c["kind"][i])},'
                f'"startTimeUnixNano":"{int(c["start"][i])}",'
                f'"endTimeUnixNano":"{int(c["end"][i])}","attributes":['
                f'{{"key":"http.route","value":{{"stringValue":"{ROUTES[c["route"][i]]}"}}}},'
                f'{{"key":"http.response.status_code","value":{{"intValue":"{int(c["status_code"][i])}"}}}},'
                f'{{"key":"user.id","value":{{"stringValue":"user-{user}"}}}},'
                f'{{"key":"db.rows","value":{{"intValue":"{user % 500}"}}}},'
                f'{{"key":"cache.hit","value":{{"boolValue":{cached}}}}}'
                f'],"status":{status}}}'
            )
        resources = [
            '{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"'
            + SERVICES[service]
            + '"}}]},"scopeSpans":[{"scope":{"name":"bench","version":"1.0"},"spans":['
            + ",".join(spans)
            + "]}]}"
            for service, spans in by_service.items()
        ]
        lines.append('{"resourceSpans":[' + ",".join(resources) + "]}\n")
    return lines


def timed(function: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, help="where to write (default: a temporary dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="otlp-arrow-bench-query-"))
    root.mkdir(parents=True, exist_ok=True)
    out, jsonl = root / "arrow", root / "traces.jsonl"
    now_ns = time.time_ns()
    rng = np.random.default_rng(7)
    print(f"generating {args.spans:,} spans under {root} ...", flush=True)
    started = time.perf_counter()
    lookup_id = None
    with OtlpLibrary(output_dir=out, max_buffer_rows=4 * CHUNK) as library, jsonl.open("w") as f:
        for first in range(0, args.spans, CHUNK):
            c = chunk(min(CHUNK, args.spans - first), first, now_ns, rng)
            library.export_traces(to_table(c))
            f.writelines(json_lines(c))
            if lookup_id is None:
                lookup_id = bytes(c["trace_id"][len(c["start"]) // 2]).hex()
            done = first + len(c["start"])
            print(f"  {done:,} spans ({time.perf_counter() - started:.0f} s)", flush=True)
    assert lookup_id is not None
    arrow_bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        f"written in {time.perf_counter() - started:.0f} s: Arrow/Parquet "
        f"{arrow_bytes / 2**20:,.0f} MiB, JSON Lines {jsonl.stat().st_size / 2**20:,.0f} MiB",
        flush=True,
    )

    store = connect(out)
    hour_ago = (
        f"TIMESTAMPTZ '{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(now_ns / 1e9 - 3600))}+00'"
    )
    since_ns = now_ns - 3600 * 10**9
    source = f"read_json('{jsonl}', format='newline_delimited', maximum_object_size=1000000000)"
    spans = (
        f"WITH rs AS (SELECT unnest(resourceSpans) AS r FROM {source}), "
        "ss AS (SELECT r.resource AS resource, unnest(r.scopeSpans) AS s FROM rs), "
        "sp AS (SELECT resource, unnest(s.spans) AS span FROM ss) "
    )
    service = (
        "list_filter(resource.attributes, lambda a: a.key = 'service.name')[1].value.stringValue"
    )
    questions = {
        "trace by id": (
            lambda: store.traces(trace_id=lookup_id).num_rows,
            spans + f"SELECT count(*) FROM sp WHERE span.traceId = '{lookup_id}'",
        ),
        "p99 per service, last hour": (
            lambda: sorted(
                store.sql(
                    "SELECT service_name, quantile_disc(duration_ns, 0.99) AS p99 FROM traces "
                    f"WHERE start_time >= {hour_ago} GROUP BY 1"
                ).to_pylist(),
                key=lambda r: r["service_name"],
            ),
            spans
            + f"SELECT {service} AS service_name, quantile_disc(span.endTimeUnixNano::BIGINT - "
            "span.startTimeUnixNano::BIGINT, 0.99) AS p99 FROM sp "
            f"WHERE span.startTimeUnixNano::BIGINT >= {since_ns} GROUP BY 1 ORDER BY 1",
        ),
        "errors per span name": (
            lambda: sorted(
                store.sql(
                    "SELECT name, count(*) AS n FROM traces WHERE status_code = 2 GROUP BY 1"
                ).to_pylist(),
                key=lambda r: r["name"],
            ),
            spans + "SELECT span.name, count(*) AS n FROM sp WHERE span.status.code = 2 "
            "GROUP BY 1 ORDER BY 1",
        ),
    }
    print()
    print(f"{'question':<28} {'otlp-arrow':>12} {'JSON Lines':>12} {'ratio':>8}  answers agree")
    results = {}
    for name, (ours, peer_sql) in questions.items():
        ours_s, ours_answer = timed(ours)
        peer_s, peer_rows = timed(lambda q=peer_sql: duckdb.sql(q).fetchall(), repeat=1)
        if name == "trace by id":
            agree = ours_answer == peer_rows[0][0] == SPANS_PER_TRACE
        else:
            agree = [tuple(r.values()) for r in ours_answer] == [tuple(r) for r in peer_rows]
        results[name] = {"ours_s": ours_s, "json_s": peer_s, "ratio": peer_s / ours_s}
        print(
            f"{name:<28} {ours_s * 1000:>10.0f}ms {peer_s * 1000:>10.0f}ms "
            f"{peer_s / ours_s:>7.0f}x  {agree}",
            flush=True,
        )
    print()
    print(json.dumps({"spans": args.spans, **results}))
    if not args.keep and args.dir is None:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()

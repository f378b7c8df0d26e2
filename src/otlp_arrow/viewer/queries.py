"""The viewer's questions, answered with DuckDB over a :class:`~otlp_arrow.query.Store`.

Every function takes an open DuckDB connection (``Store.duckdb()``) and plain, already
validated arguments, and returns JSON-ready dicts and lists. User input only ever reaches SQL
as bound parameters; the few identifiers in the SQL text are constants of this module. The
chart maths on the answers is :mod:`otlp_arrow.viewer.charts`; stored values are shown by
the renderer the CLI uses too (:func:`otlp_arrow.query.display_value`: bytes as hex).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otlp_arrow.display import display_any_value, display_bytes
from otlp_arrow.schema import SIGNALS, Signal
from otlp_arrow.viewer import charts

#: Most rows a page of results holds.
MAX_LIMIT = 500
#: Most spans a trace page shows (a waterfall of more is no longer readable).
MAX_TRACE_SPANS = 5000
#: Most attributes (of a span, its resource), events and links shown per span; the counts
#: of what is left out are in ``hidden`` (one span with 800,000 attributes stays cheap).
MAX_SPAN_ITEMS = 200


@dataclass(frozen=True)
class TimeRange:
    """``[since_ns, until_ns)``; None: open."""

    since_ns: int | None = None
    until_ns: int | None = None

    def sql(self, column: str) -> tuple[str, list[Any]]:
        parts, params = [], []
        if self.since_ns is not None:
            parts.append(f"epoch_ns({column}) >= ?")
            params.append(self.since_ns)
        if self.until_ns is not None:
            parts.append(f"epoch_ns({column}) < ?")
            params.append(self.until_ns)
        return " AND ".join(parts), params


def _where(parts: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    used = [(text, params) for text, params in parts if text]
    if not used:
        return "", []
    return "WHERE " + " AND ".join(t for t, _ in used), [p for _, ps in used for p in ps]


def _rows(con: Any, sql: str, params: list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def status(con: Any) -> dict[Signal, int]:
    """Rows per signal: the viewer polls this to notice new data."""
    return {
        signal: con.execute(f"SELECT count(*) FROM {signal}").fetchall()[0][0] for signal in SIGNALS
    }


def services(con: Any) -> list[str]:
    sql = " UNION ".join(
        f"SELECT DISTINCT service_name AS s FROM {signal} WHERE service_name IS NOT NULL"
        for signal in SIGNALS
    )
    return [row[0] for row in con.execute(f"SELECT s FROM ({sql}) ORDER BY s").fetchall()]


def span_names(con: Any, service: str | None) -> list[str]:
    where, params = _where([("service_name = ?", [service]) if service else ("", [])])
    rows = con.execute(
        f"SELECT DISTINCT name FROM traces {where} ORDER BY name LIMIT 1000", params
    ).fetchall()
    return [row[0] for row in rows]


def search_traces(
    con: Any,
    *,
    service: str | None,
    name: str | None,
    errors_only: bool,
    min_duration_ns: int | None,
    time_range: TimeRange,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Traces with at least one span matching every filter, newest first, one page."""
    where, params = _where(
        [
            ("service_name = ?", [service]) if service else ("", []),
            ("name = ?", [name]) if name else ("", []),
            ("status_code = 2", []) if errors_only else ("", []),
            ("duration_ns >= ?", [min_duration_ns]) if min_duration_ns else ("", []),
            time_range.sql("start_time"),
        ]
    )
    total = con.execute(f"SELECT count(DISTINCT trace_id) FROM traces {where}", params)
    total_count = total.fetchall()[0][0]
    rows = _rows(
        con,
        f"""
        WITH hits AS (
            SELECT trace_id, max(start_time) AS latest FROM traces {where}
            GROUP BY trace_id ORDER BY latest DESC, trace_id LIMIT ? OFFSET ?
        )
        SELECT lower(hex(t.trace_id)) AS trace_id,
               coalesce(any_value(t.name) FILTER (WHERE t.parent_span_id IS NULL),
                        arg_min(t.name, t.start_time)) AS root_name,
               coalesce(any_value(t.service_name) FILTER (WHERE t.parent_span_id IS NULL),
                        arg_min(t.service_name, t.start_time)) AS root_service,
               epoch_ns(min(t.start_time)) AS start_ns,
               epoch_ns(max(t.end_time)) - epoch_ns(min(t.start_time)) AS duration_ns,
               count(*) AS spans,
               count(*) FILTER (WHERE t.status_code = 2) AS errors,
               list(DISTINCT t.service_name ORDER BY t.service_name) AS services
        FROM traces t JOIN hits USING (trace_id)
        GROUP BY t.trace_id, hits.latest
        ORDER BY hits.latest DESC, t.trace_id
        """,
        [*params, limit, offset],
    )
    return {"total": total_count, "offset": offset, "limit": limit, "traces": rows}


def trace(con: Any, trace_id: bytes) -> dict[str, Any]:
    """Every span of one trace, oldest first, with all its details."""
    rows = _rows(
        con,
        """
        SELECT lower(hex(span_id)) AS span_id, lower(hex(parent_span_id)) AS parent_span_id,
               name, kind, service_name AS service, epoch_ns(start_time) AS start_ns,
               duration_ns, status_code, status_message,
               map_from_entries(list_slice(map_entries(attributes), 1, $n)) AS attributes,
               list_transform(list_slice(events, 1, $n), lambda e: struct_pack(
                   time := e.time, name := e.name,
                   attributes := map_from_entries(list_slice(map_entries(e.attributes), 1, $n))
               )) AS events,
               list_transform(list_slice(links, 1, $n), lambda l: struct_pack(
                   trace_id := l.trace_id, span_id := l.span_id,
                   attributes := map_from_entries(list_slice(map_entries(l.attributes), 1, $n))
               )) AS links,
               map_from_entries(list_slice(map_entries(resource_attributes), 1, $n))
                   AS resource_attributes,
               struct_pack(
                   attributes := greatest(cardinality(attributes) - $n, 0),
                   resource_attributes := greatest(cardinality(resource_attributes) - $n, 0),
                   events := greatest(len(events) - $n, 0),
                   links := greatest(len(links) - $n, 0)
               ) AS hidden,
               scope_name, scope_version, trace_state, flags,
               dropped_attributes_count, dropped_events_count, dropped_links_count
        FROM traces WHERE trace_id = $id ORDER BY start_time, span_id LIMIT $spans
        """,
        {"id": trace_id, "n": MAX_SPAN_ITEMS, "spans": MAX_TRACE_SPANS + 1},
    )
    truncated = len(rows) > MAX_TRACE_SPANS
    spans = [_span(row) for row in rows[:MAX_TRACE_SPANS]]
    logs = _rows(
        con,
        """
        SELECT epoch_ns(time) AS time_ns, severity_text, severity_number, body,
               lower(hex(span_id)) AS span_id
        FROM logs WHERE trace_id = ? ORDER BY time LIMIT 1000
        """,
        [trace_id],
    )
    for log in logs:
        log["body"] = display_any_value(log["body"])
    return {
        "trace_id": display_bytes(trace_id),
        "spans": spans,
        "truncated": truncated,
        "logs": logs,
    }


def _span(row: dict[str, Any]) -> dict[str, Any]:
    row["attributes"] = _attributes(row["attributes"])
    row["resource_attributes"] = _attributes(row.pop("resource_attributes"))
    row["events"] = [
        {
            "time_ns": _epoch_ns(e["time"]),
            "name": e["name"],
            "attributes": _attributes(e["attributes"]),
        }
        for e in row["events"] or []
    ]
    row["links"] = [
        {
            "trace_id": _hex(link["trace_id"]),
            "span_id": _hex(link["span_id"]),
            "attributes": _attributes(link["attributes"]),
        }
        for link in row["links"] or []
    ]
    return row


def _epoch_ns(moment: Any) -> int | None:
    if moment is None:
        return None
    return int(moment.timestamp() * 1_000_000) * 1000 + getattr(moment, "nanosecond", 0)


def _hex(value: bytes | None) -> str | None:
    return display_bytes(value) if value is not None else None


def _attributes(attributes: dict[str, Any] | None) -> dict[str, Any]:
    return {key: display_any_value(value) for key, value in (attributes or {}).items()}


def metric_list(con: Any) -> list[dict[str, Any]]:
    """Every metric with its points and the attribute keys its points have (maybe none)."""
    return _rows(
        con,
        """
        WITH keys AS (
            SELECT metric_name, list(DISTINCT k ORDER BY k) AS keys
            FROM (SELECT metric_name, unnest(map_keys(attributes)) AS k FROM metrics)
            WHERE k IS NOT NULL GROUP BY metric_name
        )
        SELECT m.metric_name AS name, any_value(m.metric_type) AS type,
               any_value(m.metric_unit) AS unit, any_value(m.metric_description) AS description,
               count(*) AS points, coalesce(any_value(keys.keys), []) AS keys
        FROM metrics m LEFT JOIN keys USING (metric_name)
        GROUP BY m.metric_name ORDER BY m.metric_name
        """,
        [],
    )


def metric_series(con: Any, name: str, split: str | None, time_range: TimeRange) -> dict[str, Any]:
    """Chart data for one metric: lines (sums, gauges), percentiles over time (histograms,
    exponential histograms) or quantiles (summaries), one set per value of ``split``.
    Cumulative explicit histograms are charted by what changed between a stream's points,
    so a percentile shows that interval, not everything since the stream started."""
    where, params = _where([("metric_name = ?", [name]), time_range.sql("time")])
    kinds = con.execute(f"SELECT DISTINCT metric_type FROM metrics {where}", params).fetchall()
    kind = kinds[0][0] if kinds else None
    bounds = con.execute(
        f"SELECT epoch_ns(min(time)), epoch_ns(max(time)) FROM metrics {where}", params
    ).fetchall()[0]
    if kind is None or bounds[0] is None:
        return {"name": name, "type": kind, "split": split, "series": [], "notes": []}
    width = charts.bucket_width(bounds[0], bounds[1])
    label, label_params = "''", []
    if split:
        label = (
            "coalesce(attributes[?].string_value, CAST(attributes[?].int_value AS VARCHAR), "
            "CAST(attributes[?].double_value AS VARCHAR), "
            "CAST(attributes[?].bool_value AS VARCHAR), '(none)')"
        )
        label_params = [split] * 4
    bucket = f"{bounds[0]} + ((epoch_ns(time) - {bounds[0]}) // {width}) * {width}"
    notes: list[str] = []  # on points that cannot be charted
    if kind in ("sum", "gauge"):
        rows = con.execute(
            f"""
            SELECT {label} AS series, {bucket} AS t,
                   avg(coalesce(value_double, CAST(value_int AS DOUBLE))) AS v
            FROM metrics {where} GROUP BY ALL ORDER BY series, t
            """,
            [*label_params, *params],
        ).fetchall()
        series = charts.line_series(rows)
    else:
        rows = con.execute(
            f"""
            SELECT {label} AS series, epoch_ns(time) AS t, count, bucket_counts,
                   explicit_bounds, scale, zero_count, positive_offset,
                   positive_bucket_counts, quantile_values,
                   hash(attributes, resource_attributes, start_time) AS stream,
                   aggregation_temporality = 2 AS cumulative
            FROM metrics {where} ORDER BY series, t LIMIT 200000
            """,
            [*label_params, *params],
        ).fetchall()
        points = (charts.DistributionPoint(*row) for row in rows)
        series, notes = charts.distribution_series(kind, points, bounds[0], width)
    return {"name": name, "type": kind, "split": split, "series": series, "notes": notes}


def search_logs(
    con: Any,
    *,
    service: str | None,
    min_severity: int | None,
    text: str | None,
    trace_id: bytes | None,
    time_range: TimeRange,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Log records matching every filter, newest first, one page."""
    where, params = _where(
        [
            ("service_name = ?", [service]) if service else ("", []),
            ("severity_number >= ?", [min_severity]) if min_severity else ("", []),
            (
                "coalesce(body.string_value, CAST(body AS VARCHAR)) ILIKE ? ESCAPE '\\'",
                [_like(text)],
            )
            if text
            else ("", []),
            ("trace_id = ?", [trace_id]) if trace_id else ("", []),
            time_range.sql("time"),
        ]
    )
    total = con.execute(f"SELECT count(*) FROM logs {where}", params).fetchall()[0][0]
    rows = _rows(
        con,
        f"""
        SELECT epoch_ns(time) AS time_ns, severity_number, severity_text, body,
               service_name AS service, lower(hex(trace_id)) AS trace_id,
               lower(hex(span_id)) AS span_id, attributes, event_name
        FROM logs {where} ORDER BY time DESC LIMIT ? OFFSET ?
        """,
        [*params, limit, offset],
    )
    for row in rows:
        row["body"] = display_any_value(row["body"])
        row["attributes"] = _attributes(row["attributes"])
    return {"total": total, "offset": offset, "limit": limit, "logs": rows}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"

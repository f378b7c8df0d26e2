"""What one hostile trace costs the viewer: a span with 200,000 attributes and 1,000 events
is shown capped, with the counts of what is left out; a query is stopped at its time limit."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any, cast

import duckdb
import pytest

from otlp_arrow import OtlpLibrary
from otlp_arrow.viewer import Viewer
from otlp_arrow.viewer.app import _bounded, _TooCostlyError
from otlp_arrow.viewer.queries import MAX_SPAN_ITEMS
from tests import sample
from tests.helpers import T0


def test_a_span_with_200k_attributes_is_shown_capped(tmp_path: Path) -> None:
    request = sample.traces(2, start_ns=T0)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    for i in range(200_000):
        span.attributes.add(key=f"k{i}").value.int_value = i
    for i in range(1_000):
        span.events.add(time_unix_nano=T0 + i, name=f"e{i}")
    with OtlpLibrary(output_dir=tmp_path) as library:
        library.export_traces(request)
    viewer = Viewer(tmp_path, port=0)
    viewer.start()
    try:
        started = time.monotonic()
        url = f"{viewer.url}api/trace?id={span.trace_id.hex()}"
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
        seconds = time.monotonic() - started
    finally:
        viewer.stop()
    page = json.loads(body)
    big = next(s for s in page["spans"] if s["span_id"] == span.span_id.hex())
    assert len(big["attributes"]) == MAX_SPAN_ITEMS
    assert big["hidden"]["attributes"] == len(span.attributes) - MAX_SPAN_ITEMS
    assert len(big["events"]) == MAX_SPAN_ITEMS
    assert big["hidden"]["events"] == len(span.events) - MAX_SPAN_ITEMS
    assert len(body) < 200_000, len(body)
    assert seconds < 20, seconds  # measured: well under a second on an idle machine


def test_a_query_is_stopped_at_its_time_limit() -> None:
    def slow(con: Any, request: Any) -> Any:
        return con.execute("SELECT count(*) FROM range(100000000000)").fetchall()

    con = duckdb.connect()
    try:
        with pytest.raises(_TooCostlyError, match=r"longer than 0\.2s"):
            _bounded(con, 0.2, 64 * 1024**2, slow, cast(Any, None))
        assert con.execute("SELECT current_setting('memory_limit')").fetchall() == [("64.0 MiB",)]
    finally:
        con.close()


def test_a_query_beyond_the_memory_limit_is_stopped_with_its_setting_named() -> None:
    def hungry(con: Any, request: Any) -> Any:  # a sort that cannot spill: no temp directory
        con.execute("SET temp_directory = ''")
        return con.execute(
            "SELECT list(repeat('x', 100) || i::VARCHAR) FROM range(2000000) t(i)"
        ).fetchall()

    con = duckdb.connect()
    try:
        with pytest.raises(_TooCostlyError, match="viewer_memory_limit"):
            _bounded(con, 60, 16 * 1024**2, hungry, cast(Any, None))
    finally:
        con.close()

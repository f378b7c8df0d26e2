"""The viewer's JSON API and its security, over a real HTTP server on stored files."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otlp_arrow import ReceiverError, connect
from otlp_arrow.viewer import Viewer
from otlp_arrow.viewer.app import ASSETS
from tests.helpers import T0
from tests.viewer.data import MINUTE, store_odd_metrics, store_rounds

STATIC = Path(__file__).parents[2] / "src/otlp_arrow/viewer/static"
#: the viewer's classic scripts, in the order index.html loads them
SCRIPTS = ["dom.js", "api.js", "traces.js", "metrics.js", "logs.js", "app.js"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return store_rounds(tmp_path_factory.mktemp("viewer"), 4, 200, 60, 80)


@pytest.fixture(scope="module")
def base(stored: Path) -> Iterator[str]:
    viewer = Viewer(stored, port=0)
    viewer.start()
    yield viewer.url.rstrip("/")
    viewer.stop()


def get(base: str, path: str, method: str = "GET") -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(base + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            status, headers = response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        body, status, headers = exc.read(), exc.code, dict(exc.headers)
    kind = headers.get("content-type", "")
    return status, headers, json.loads(body) if kind.startswith("application/json") else body


def test_trace_search_pages_and_filters(base: str, stored: Path) -> None:
    store = connect(stored)
    traces = store.sql("SELECT count(DISTINCT trace_id) AS n FROM traces").column("n")[0].as_py()
    status, _, page = get(base, "/api/traces?limit=20")
    assert status == 200 and page["total"] == traces and len(page["traces"]) == 20
    starts = [t["start_ns"] for t in page["traces"]]
    assert starts == sorted(starts, reverse=True)  # newest first
    _, _, second = get(base, "/api/traces?limit=20&offset=20")
    assert not {t["trace_id"] for t in page["traces"]} & {t["trace_id"] for t in second["traces"]}
    _, _, errors = get(base, "/api/traces?errors=1&limit=500")
    expected = store.sql("SELECT count(DISTINCT trace_id) AS n FROM traces WHERE status_code = 2")
    assert errors["total"] == expected.column("n")[0].as_py() > 0
    assert all(t["errors"] >= 1 for t in errors["traces"])
    _, _, slow = get(base, "/api/traces?min_ms=60&service=frontend&limit=500")
    slow_ids = {t["trace_id"] for t in slow["traces"]}
    truth = store.sql(
        "SELECT DISTINCT lower(hex(trace_id)) AS t FROM traces "
        "WHERE duration_ns >= 60000000 AND service_name = 'frontend'"
    )
    assert slow_ids == set(truth.column("t").to_pylist()) and slow_ids
    since_ms = (T0 + 2 * MINUTE) // 10**6
    _, _, late = get(base, f"/api/traces?since={since_ms}&limit=500")
    assert late["total"] == 100  # the last two of four rounds of 200 spans, 4 spans a trace


def test_one_trace_with_everything_a_span_has(base: str) -> None:
    _, _, page = get(base, "/api/traces?limit=1")
    trace_id = page["traces"][0]["trace_id"]
    status, _, trace = get(base, f"/api/trace?id={trace_id}")
    assert status == 200 and trace["trace_id"] == trace_id
    spans = trace["spans"]
    assert len(spans) == page["traces"][0]["spans"]
    roots = [s for s in spans if s["parent_span_id"] is None]
    assert len(roots) == 1
    assert {s["parent_span_id"] for s in spans if s is not roots[0]} <= {
        s["span_id"] for s in spans
    }
    root = roots[0]
    assert root["attributes"]["http.route"] == root["name"].split(" ", 1)[1]
    assert isinstance(root["attributes"]["server.port"], int)
    assert root["attributes"]["tags"] == ["shop", root["attributes"]["http.route"]]
    assert root["resource_attributes"]["service.name"] == root["service"]
    assert root["events"] and root["events"][0]["name"]
    assert all(log["span_id"] in {s["span_id"] for s in spans} for log in trace["logs"])


def test_metric_charts_for_every_kind(base: str) -> None:
    _, _, listing = get(base, "/api/metrics")
    kinds = {m["type"]: m for m in listing["metrics"]}
    assert set(kinds) == {"sum", "gauge", "histogram", "exponential_histogram", "summary"}
    for kind, metric in kinds.items():
        _, _, chart = get(base, f"/api/metric?name={metric['name']}")
        assert chart["type"] == kind and chart["series"], kind
        times = [p[0] for p in chart["series"][0]["points"]]
        assert len(times) == 4 and times == sorted(times), kind  # one bucket per round
        if kind in ("histogram", "exponential_histogram"):
            labels = [s["label"] for s in chart["series"]]
            assert labels == ["p50", "p90", "p99"], kind
            p50, p99 = chart["series"][0]["points"], chart["series"][2]["points"]
            assert all(a[1] <= b[1] for a, b in zip(p50, p99, strict=True)), kind
    key = kinds["sum"]["keys"][0]
    _, _, split = get(base, f"/api/metric?name={kinds['sum']['name']}&split={key}")
    assert len(split["series"]) > 1


def test_log_search(base: str, stored: Path) -> None:
    store = connect(stored)
    status, _, page = get(base, "/api/logs?limit=30")
    assert status == 200 and page["total"] == 320 and len(page["logs"]) == 30
    _, _, errors = get(base, "/api/logs?severity=17&limit=500")
    truth = store.sql("SELECT count(*) AS n FROM logs WHERE severity_number >= 17")
    assert errors["total"] == truth.column("n")[0].as_py() > 0
    assert all(log["severity_number"] >= 17 for log in errors["logs"])
    _, _, text = get(base, "/api/logs?q=%2Fcheckout&limit=500")
    assert text["total"] > 0 and all("/checkout" in log["body"] for log in text["logs"])
    _, _, none = get(base, "/api/logs?q=100%25_sure")  # % and _ are literal, not wildcards
    assert none["total"] == 0
    trace_id = page["logs"][0]["trace_id"]
    _, _, of_trace = get(base, f"/api/logs?trace_id={trace_id}")
    assert of_trace["total"] >= 1 and {x["trace_id"] for x in of_trace["logs"]} == {trace_id}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/traces?limit=abc", "limit='abc' is not a whole number"),
        ("/api/traces?limit=100000", "out of range"),
        ("/api/trace?id=xyz", "32 hex digits"),
        ("/api/trace", "id (the trace id, 32 hex digits) is required"),
        ("/api/metric", "name (the metric name) is required"),
        ("/api/logs?severity=99", "out of range"),
        ("/api/traces?service=" + "x" * 600, "longer than 500"),
        ("/api/traces?errors=yes", "errors='yes': expected 1, true, 0 or false"),
    ],
)
def test_bad_parameters_get_400_saying_why(base: str, path: str, message: str) -> None:
    status, _, body = get(base, path)
    assert status == 400 and message in body["error"]


def test_nothing_but_assets_and_api_is_served(base: str, stored: Path) -> None:
    (stored / "secret.txt").write_text("do not serve")
    for path in (
        "/secret.txt",
        "/assets/../secret.txt",
        "/assets/%2e%2e/secret.txt",
        "/assets/api.py",
        "/traces/",
        "/static/app.js",
        "/api/nope",
    ):
        status, headers, body = get(base, path)
        assert status == 404, path
        assert b"do not serve" not in json.dumps(body).encode()
        assert headers["x-content-type-options"] == "nosniff"
    status, headers, _ = get(base, "/api/status", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    for name in SCRIPTS:
        status, headers, body = get(base, f"/assets/{name}")
        assert status == 200 and headers["content-type"].startswith("text/javascript"), name
        assert body.startswith(b"// otlp-arrow viewer, " + name.encode()), name
    _, _, body = get(base, "/assets/dom.js")
    assert b"replaceChildren" in body


def test_every_script_is_served_and_loaded_in_order() -> None:
    """Each static .js file is in the asset table and index.html loads them all, in order."""
    assert sorted(p.name for p in STATIC.glob("*.js")) == sorted(SCRIPTS)
    assert [name for name, _ in ASSETS.values() if name.endswith(".js")] == SCRIPTS
    page = (STATIC / "index.html").read_text("utf-8")
    loaded = re.findall(r'<script src="/assets/([^"]+)" defer></script>', page)
    assert loaded == SCRIPTS and page.count("<script") == len(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_scripts_fit_in_120_columns(name: str) -> None:
    """Biome (make test) formats the scripts to 120 columns, but does not break long strings."""
    script = STATIC / name
    long = [
        n for n, line in enumerate(script.read_text("utf-8").splitlines(), 1) if len(line) > 120
    ]
    assert long == [], f"{name} lines over 120 characters: {long}"


def test_security_headers_on_every_response(base: str) -> None:
    for path in ("/", "/assets/app.css", "/api/status", "/api/trace?id=zz", "/missing"):
        _, headers, _ = get(base, path)
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy, path
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path


def test_page_and_status(base: str) -> None:
    status, headers, body = get(base, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'<script src="/assets/app.js"' in body and b"<script>" not in body
    _, _, counts = get(base, "/api/status")
    assert counts == {"traces": 800, "metrics": 240, "logs": 320}


def test_a_taken_port_is_a_clear_error(base: str, stored: Path) -> None:
    port = int(base.rsplit(":", 1)[1])
    with pytest.raises(ReceiverError, match=f"cannot listen for the web viewer on .*:{port}"):
        Viewer(stored, port=port).start()


@pytest.fixture(scope="module")
def odd_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    viewer = Viewer(store_odd_metrics(tmp_path_factory.mktemp("odd")), port=0)
    viewer.start()
    yield viewer.url.rstrip("/")
    viewer.stop()


def test_a_histogram_with_more_bucket_counts_than_bounds_is_charted_with_a_note(
    odd_metrics: str,
) -> None:
    status, _, chart = get(odd_metrics, "/api/metric?name=too.many.buckets")
    assert status == 200
    assert [len(s["points"]) for s in chart["series"]] == [1, 1, 1]  # the good point
    assert chart["notes"] == [
        "cannot chart 1 of 2 points: a histogram point has 4 bucket counts for 2 bounds (at most 3)"
    ]
    status, _, split = get(odd_metrics, "/api/metric?name=too.many.buckets&split=host")
    assert status == 200 and split["notes"] == chart["notes"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("scale.minus.20", "scale -20 is outside the range of OTLP (-10..20)"),
        ("scale.minus.10", "at scale -10, bucket 1 ends beyond the largest double"),
    ],
)
def test_an_exponential_histogram_out_of_range_is_a_note_not_a_500(
    odd_metrics: str, name: str, problem: str
) -> None:
    status, _, chart = get(odd_metrics, f"/api/metric?name={name}")
    assert status == 200 and chart["series"] == []
    assert chart["notes"] == [f"cannot chart 1 of 1 points: {problem}"]


def test_metrics_without_attributes_are_listed(odd_metrics: str) -> None:
    _, _, listing = get(odd_metrics, "/api/metrics")
    metrics = {m["name"]: m for m in listing["metrics"]}
    assert set(metrics) == {"no.attributes", "scale.minus.10", "scale.minus.20", "too.many.buckets"}
    assert (metrics["no.attributes"]["points"], metrics["no.attributes"]["keys"]) == (3, [])
    assert (metrics["too.many.buckets"]["points"], metrics["too.many.buckets"]["keys"]) == (
        2,
        ["host"],
    )
    _, _, chart = get(odd_metrics, "/api/metric?name=no.attributes")
    assert chart["series"][0]["label"] == "all" and len(chart["series"][0]["points"]) == 3


def test_a_metric_not_stored_is_an_empty_chart(odd_metrics: str) -> None:
    status, _, chart = get(odd_metrics, "/api/metric?name=not.stored")
    assert status == 200
    assert chart == {"name": "not.stored", "type": None, "split": None, "series": [], "notes": []}

"""OTLP/JSON as a real SDK sends it: OpenTelemetry JS (Node.js) against ``otlp-arrow serve``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pyarrow.compute as pc
import pytest

from otlp_arrow import arrow_to_otlp, read_table
from tests.helpers import start_serve, stop_serve

JS = Path(__file__).parents[1] / "js"
NODE = shutil.which("node")


def _require_the_js_client() -> str:
    """Node.js and the pinned client, or a skip saying why; on CI (``CI`` set), where
    scripts/setup.sh installs both, their absence fails the test instead."""
    missing = (
        "Node.js is not installed"
        if NODE is None
        else "the OpenTelemetry JS client is not installed (scripts/setup.sh runs "
        "npm ci --prefix tests/js)"
        if not (JS / "node_modules" / "@opentelemetry").is_dir()
        else None
    )
    if missing is None:
        assert NODE is not None
        return NODE
    if os.environ.get("CI"):
        pytest.fail(f"{missing}, but CI must run this test")
    pytest.skip(missing)


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
def test_opentelemetry_js_sends_otlp_json_to_serve(tmp_path: Path) -> None:
    node = _require_the_js_client()
    out = tmp_path / "data"
    proc, ports = start_serve(out, "--grpc-port", "off", "--http-port", "0")
    port = ports["HTTP"]
    sent = subprocess.run(
        [node, str(JS / "send_spans.js"), f"http://127.0.0.1:{port}/v1/traces"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    stop_serve(proc)
    assert sent.returncode == 0, sent.stderr
    ids = json.loads(sent.stdout)

    spans = read_table(out, "traces")
    assert spans.num_rows == 2
    root = spans.filter(pc.equal(spans["name"], "GET /cart"))
    child = spans.filter(pc.equal(spans["name"], "SELECT cart"))
    assert root["trace_id"][0].as_py().hex() == ids["trace"]
    assert root["span_id"][0].as_py().hex() == ids["root"]
    assert child["parent_span_id"][0].as_py().hex() == ids["root"]
    assert (root["kind"][0].as_py(), child["kind"][0].as_py()) == (2, 1)  # SERVER, INTERNAL
    assert (root["status_code"][0].as_py(), root["status_message"][0].as_py()) == (
        2,
        "card declined",
    )
    assert root["service_name"][0].as_py() == "js-shop"
    span = arrow_to_otlp(root, "traces").resource_spans[0].scope_spans[0].spans[0]
    attrs = {kv.key: kv.value for kv in span.attributes}
    assert attrs["http.status_code"].int_value == 500
    assert attrs["cart.total"].double_value == 12.5
    assert attrs["cart.empty"].HasField("bool_value") and not attrs["cart.empty"].bool_value
    assert [v.string_value for v in attrs["tags"].array_value.values] == ["a", "b"]
    assert attrs["big"].int_value == 9007199254740991
    assert [e.name for e in span.events] == ["cache.miss"]
    link = arrow_to_otlp(child, "traces").resource_spans[0].scope_spans[0].spans[0].links[0]
    assert link.span_id.hex() == ids["root"]

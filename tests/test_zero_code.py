"""``OTEL_*_EXPORTER=otlp_arrow`` with opentelemetry-instrument: no code, real subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pyarrow.compute as pc

from otlp_arrow import read_table

APP = """
import logging
from opentelemetry import metrics, trace

tracer = trace.get_tracer("zero.code.app")
with tracer.start_as_current_span("handle request", attributes={"user": "ann"}):
    logging.getLogger("app").warning("charging %s", "ann")
    metrics.get_meter("zero.code.app").create_counter("requests").add(2, {"route": "/"})
print("app done")
"""


def test_opentelemetry_instrument_writes_all_three_signals(tmp_path: Path) -> None:
    instrument = shutil.which("opentelemetry-instrument", path=sysconfig.get_path("scripts"))
    assert instrument is not None, "opentelemetry-instrument is not installed"
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    out = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OTLP_ARROW_"))}
    env.update(
        {
            "OTEL_TRACES_EXPORTER": "otlp_arrow",
            "OTEL_METRICS_EXPORTER": "otlp_arrow",
            "OTEL_LOGS_EXPORTER": "otlp_arrow",
            "OTEL_SERVICE_NAME": "zero-code",
            "OTLP_ARROW_OUTPUT_DIR": str(out),
            "OTLP_ARROW_COMPRESSION": "lz4",
        }
    )
    done = subprocess.run(
        [instrument, sys.executable, "app.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "app done" in done.stdout
    spans = read_table(out, "traces")
    assert spans.column("name").to_pylist() == ["handle request"]
    assert spans.column("service_name").to_pylist() == ["zero-code"]
    logs = read_table(out, "logs")
    messages = pc.struct_field(logs.column("body"), "string_value").to_pylist()
    assert "charging ann" in messages
    # opentelemetry-instrumentation-logging's handler, the README's recipe: the app's records
    # and nothing else (the deprecated SDK handler's variable made it log a warning, stored)
    assert set(logs.column("scope_name").to_pylist()) == {"app"}, messages
    app_logs = logs.filter(pc.equal(logs["scope_name"], "app"))  # the app's own logger
    assert app_logs.column("trace_id").to_pylist() == spans.column("trace_id").to_pylist()
    metrics = read_table(out, "metrics")
    requests = metrics.filter(pc.equal(metrics["metric_name"], "requests"))
    assert requests.column("value_int").to_pylist() == [2]
    assert requests.column("aggregation_temporality").to_pylist() == [2]  # cumulative

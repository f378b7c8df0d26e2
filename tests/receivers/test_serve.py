"""``otlp-arrow serve`` as a real subprocess: listens, stores, stops cleanly on SIGTERM."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sysconfig
import time
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from otlp_arrow import arrow_to_otlp, read_table
from tests import sdk_data
from tests.helpers import EOS, data_files
from tests.otlp_compare import assert_same


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
def test_serve_stores_what_clients_send_and_stops_cleanly(tmp_path: Path) -> None:
    exe = shutil.which("otlp-arrow", path=sysconfig.get_path("scripts"))
    assert exe is not None
    out = tmp_path / "data"
    proc = subprocess.Popen(
        [exe, "serve", "--output-dir", str(out), "--grpc-port", "0", "--http-port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    port = None
    deadline = time.monotonic() + 30
    lines = []
    while port is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        match = re.search(r"OTLP/gRPC listening on 127\.0\.0\.1:(\d+)", line)
        port = int(match.group(1)) if match else None
    assert port, "".join(lines)
    spans = sdk_data.spans()
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True)
    assert exporter.export(spans) is SpanExportResult.SUCCESS  # acknowledged...
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    rest = proc.stderr.read()
    proc.stderr.close()
    assert "otlp-arrow stopped" in rest
    # ...so it is in the files, which are closed properly
    assert_same(arrow_to_otlp(read_table(out, "traces"), "traces"), encode_spans(spans))
    assert all(f.read_bytes().endswith(EOS) for f in data_files(out, "traces"))

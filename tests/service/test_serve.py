"""``otlp-arrow serve`` as a real subprocess with the official OTLP exporters as clients:
all signals over gRPC and HTTP, then SIGTERM; everything acknowledged is in the files."""

from __future__ import annotations

import logging
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc import _log_exporter as grpc_logs
from opentelemetry.exporter.otlp.proto.grpc import metric_exporter as grpc_metrics
from opentelemetry.exporter.otlp.proto.grpc import trace_exporter as grpc_traces
from opentelemetry.exporter.otlp.proto.http import _log_exporter as http_logs
from opentelemetry.exporter.otlp.proto.http import metric_exporter as http_metrics
from opentelemetry.exporter.otlp.proto.http import trace_exporter as http_traces

from otlp_arrow import arrow_to_otlp, read_table
from tests import sdk_data
from tests.helpers import all_sealed, start_serve, stop_serve
from tests.otlp_compare import assert_same


def _merged(*requests: Any) -> Any:
    merged = type(requests[0])()
    for request in requests:
        merged.MergeFrom(request)
    return merged


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
def test_serve_stores_what_official_clients_send_and_stops_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "data"
    proc, ports = start_serve(out, "--grpc-port", "0", "--http-port", "0")
    spans, records, metrics = (sdk_data.spans(), sdk_data.log_records(), sdk_data.metrics_data())
    grpc_endpoint = f"127.0.0.1:{ports['gRPC']}"
    http_base = f"http://127.0.0.1:{ports['HTTP']}/v1"
    results = [
        grpc_traces.OTLPSpanExporter(endpoint=grpc_endpoint, insecure=True).export(spans),
        grpc_logs.OTLPLogExporter(endpoint=grpc_endpoint, insecure=True).export(records),
        grpc_metrics.OTLPMetricExporter(endpoint=grpc_endpoint, insecure=True).export(metrics),
        http_traces.OTLPSpanExporter(endpoint=f"{http_base}/traces").export(spans),
        http_logs.OTLPLogExporter(endpoint=f"{http_base}/logs").export(records),
        http_metrics.OTLPMetricExporter(endpoint=f"{http_base}/metrics").export(metrics),
    ]
    assert [result.name for result in results] == ["SUCCESS"] * 6  # acknowledged...
    assert "otlp-arrow stopped" in stop_serve(proc)
    # ...so it is in the files (twice: once per protocol), and the files are closed properly
    expected = {
        "traces": encode_spans(spans),
        "logs": encode_logs(records),
        "metrics": encode_metrics(metrics),
    }
    for name, request in expected.items():
        assert_same(arrow_to_otlp(read_table(out, name), name), _merged(request, request))
        assert all_sealed(out, name)


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
def test_sigterm_while_clients_are_sending_loses_nothing_acknowledged(tmp_path: Path) -> None:
    import threading

    import grpc
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    out = tmp_path / "data"
    proc, ports = start_serve(out, "--grpc-port", "0", "--http-port", "off")
    port = ports["gRPC"]
    acknowledged: list[bytes] = []
    lock = threading.Lock()

    def send(client: int) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call: Any = channel.unary_unary(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
            )
            for n in range(10_000):
                request = ExportTraceServiceRequest()
                spans = request.resource_spans.add().scope_spans.add().spans
                ids = [bytes([client, n % 256, n // 256, i]) * 2 for i in range(20)]
                for span_id in ids:
                    spans.add(trace_id=b"t" * 16, span_id=span_id, name="load")
                try:
                    call(request.SerializeToString(), timeout=10)
                except grpc.RpcError:
                    return  # the server is going away; this request was not acknowledged
                with lock:
                    acknowledged.extend(ids)

    clients = [threading.Thread(target=send, args=(c,)) for c in range(4)]
    for thread in clients:
        thread.start()
    while len(acknowledged) < 2_000:
        time.sleep(0.01)
    stop_serve(proc)  # while the clients are still sending
    for thread in clients:
        thread.join(60)
    stored = set(read_table(out, "traces").column("span_id").to_pylist())
    missing = [span_id for span_id in acknowledged if span_id not in stored]
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged spans lost"


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
def test_sigterm_while_serve_is_still_starting_stops_it_cleanly(tmp_path: Path) -> None:
    """A SIGTERM that arrives while the listeners are still coming up (an orchestrator that
    changes its mind, a test that is already satisfied) is a clean stop, not a kill."""
    import shutil
    import subprocess
    import sysconfig

    exe = shutil.which("otlp-arrow", path=sysconfig.get_path("scripts"))
    assert exe is not None
    out = tmp_path / "data"
    proc = subprocess.Popen(
        [exe, "serve", "--output-dir", str(out), "--grpc-port", "0", "--http-port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    while "OTLP/gRPC listening" not in (line := proc.stderr.readline()):
        assert line, "".join(lines)
        lines.append(line)
    proc.send_signal(signal.SIGTERM)  # HTTP is not up yet: the service is mid-start
    _, errors = proc.communicate(timeout=60)
    assert proc.returncode == 0, errors
    assert "stopped" in errors


@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_serve_refuses_an_output_dir_it_cannot_write_at_start(tmp_path: Path, where: str) -> None:
    import subprocess
    import sys

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    out = blocker if where == "file" else blocker / "data"
    done = subprocess.run(
        [sys.executable, "-m", "otlp_arrow.cli", "serve", "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert str(out) in done.stderr and "not a directory" in done.stderr.lower()
    assert "listening" not in done.stderr  # nothing was opened to clients


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
def test_a_token_from_a_file_appears_in_no_log_metrics_process_list_or_data_file(
    tmp_path: Path,
) -> None:
    token = "serve-token-5f1c2a9b7e3d"
    (tmp_path / "tokens").write_text(f"{token}\n")
    out = tmp_path / "data"
    proc, ports = start_serve(
        out,
        "--grpc-port",
        "0",
        "--http-port",
        "0",
        env={"OTLP_ARROW_AUTH_BEARER_TOKENS": f"file:{tmp_path / 'tokens'}"},
    )
    base = f"http://127.0.0.1:{ports['HTTP']}"
    spans = sdk_data.spans()
    refused = http_traces.OTLPSpanExporter(endpoint=f"{base}/v1/traces").export(spans)
    sent = http_traces.OTLPSpanExporter(
        endpoint=f"{base}/v1/traces", headers={"authorization": f"Bearer {token}"}
    ).export(spans)
    assert (refused.name, sent.name) == ("FAILURE", "SUCCESS")
    request = urllib.request.Request(
        f"{base}/metrics", headers={"authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        metrics_text = response.read().decode()
    assert "otlp_arrow_unauthenticated_requests_total" in metrics_text and token not in metrics_text
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    if cmdline.exists():  # Linux: what `ps` shows
        assert token.encode() not in cmdline.read_bytes()
    log = stop_serve(proc)
    assert "refused" in log and token not in log
    assert len(read_table(out, "traces")) == len(spans)  # only the authorized export
    for path in out.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_a_service_with_every_receiver_off_says_it_receives_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from otlp_arrow import Service

    with caplog.at_level(logging.WARNING, "otlp_arrow"):
        service = Service(output_dir=tmp_path, grpc_port="off", http_port="off").start()
        service.stop(0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "no receiver is on (grpc_port and http_port are off): this process receives nothing"
    ]

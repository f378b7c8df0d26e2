"""The console script, run as a user would."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import otlp_arrow
from otlp_arrow import connect
from otlp_arrow.cli import main
from otlp_arrow.config import render_docs
from tests import sample
from tests.helpers import T0, start_serve, stop_serve

EXE = shutil.which("otlp-arrow", path=sysconfig.get_path("scripts"))


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert EXE is not None, "the otlp-arrow console script is not installed"
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_help_and_version() -> None:
    done = _run("--help")
    assert done.returncode == 0 and "demo" in done.stdout and "config" in done.stdout
    done = _run("--version")
    # the version, and whether the native core (otlp_arrow._native) is in use
    assert done.stdout.strip().startswith(f"otlp-arrow {otlp_arrow.__version__} (native core: on")


def test_demo_runs_the_service_viewer_and_shop_until_ctrl_c(tmp_path: Path) -> None:
    assert EXE is not None
    env = {**os.environ, "OTLP_ARROW_GRPC_PORT": "0", "OTLP_ARROW_HTTP_PORT": "0"}
    env["OTLP_ARROW_VIEWER_PORT"] = "0"
    proc = subprocess.Popen(
        [EXE, "demo", "--rate", "40"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    while not (lines and "open this in a browser" in lines[-1]):
        lines.append(proc.stdout.readline())
        assert lines[-1], "".join(lines)
    match = re.search(r"(http://127\.0\.0\.1:\d+/)\s+<- open this in a browser", lines[-1])
    assert match, lines[-1]
    viewer = match.group(1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # what the shop sends shows up in the viewer
        status = _get_json(viewer + "api/status")
        if min(status.values()) > 0 and status["traces"] > 50:
            break
        time.sleep(0.2)
    assert min(status.values()) > 0, status
    proc.send_signal(signal.SIGINT)  # Ctrl+C
    rest, errors = proc.communicate(timeout=60)
    assert proc.returncode == 0, errors
    assert "stopping" in rest and "otlp-arrow view" in rest
    out = tmp_path / "otlp-arrow-data"
    store = connect(out)
    kinds = store.sql("SELECT DISTINCT service_name, kind FROM traces").to_pylist()
    assert {(k["service_name"], k["kind"]) for k in kinds} >= {
        ("frontend", 2),  # SERVER
        ("frontend", 3),  # CLIENT: outbound calls and queries
        ("cart", 2),
        ("cart", 3),
    }
    one_trace = store.sql(
        "SELECT trace_id FROM traces GROUP BY 1 HAVING count(DISTINCT service_name) > 1 LIMIT 1"
    )
    assert one_trace.num_rows == 1  # calls between services stay in one trace
    metric_types = store.sql("SELECT DISTINCT metric_type AS t FROM metrics").column("t")
    assert set(metric_types.to_pylist()) == {"sum", "gauge", "histogram", "exponential_histogram"}
    joined = store.sql(
        "SELECT count(*) AS logs, count(t.span_id) AS with_span FROM logs l "
        "LEFT JOIN traces t USING (trace_id, span_id)"
    ).to_pylist()[0]
    assert joined["logs"] > 0 and joined["with_span"] == joined["logs"]  # correlated
    summary = {s.signal: s.rows for s in store.summary()}
    for signal_name, rows in summary.items():  # the final summary is what is stored
        assert re.search(rf"^{signal_name}\s+{rows:,}\s", rest, re.MULTILINE), rest


def test_demo_for_a_duration_records_payment_failures(tmp_path: Path) -> None:
    done = _run(
        "demo", "--duration", "4", "--rate", "60", "--output-dir", str(tmp_path), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "Stopping after 4 s." in done.stdout and "requests -> written" in done.stdout
    failures = connect(tmp_path).sql(
        "SELECT count(*) AS n FROM traces, unnest(events) AS e(event) "
        "WHERE status_code = 2 AND event.name = 'exception'"
    )
    assert failures.column("n")[0].as_py() > 0  # exceptions recorded on failing spans
    assert _run("demo", "--rate", "0").returncode == 2


def test_config_docs_and_errors(tmp_path: Path, capsys: object) -> None:
    assert main(["config", "--docs"]) == 0
    done = _run("config", "--output-dir", str(tmp_path))
    assert f"output_dir = {tmp_path}" in done.stdout
    bad = _run("demo", "--config", str(tmp_path / "missing.yaml"))
    assert bad.returncode == 1 and "cannot read config file" in bad.stderr
    assert _run().returncode == 2
    assert render_docs().startswith("| Setting")


def test_query_formats_and_stats(tmp_path: Path) -> None:
    import csv
    import io
    import json

    import pyarrow as pa

    with otlp_arrow.OtlpLibrary(output_dir=tmp_path / "otlp-arrow-data") as library:
        library.export_traces(sample.traces(100, start_ns=T0))
    sql = (
        "SELECT trace_id, name, duration_ns, start_time, attributes FROM traces "
        "ORDER BY duration_ns DESC LIMIT 3"
    )
    table = _run("query", sql, "--format", "table", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split(" | ")[0].strip() == "trace_id"
    assert table.stdout.rstrip().endswith("(3 rows)")
    piped = _run("query", sql, cwd=tmp_path)  # not a terminal: CSV by default
    rows = list(csv.DictReader(io.StringIO(piped.stdout)))
    assert len(rows) == 3 and re.fullmatch(r"[0-9a-f]{32}", rows[0]["trace_id"])
    assert rows[0]["start_time"].endswith("Z")
    lines = _run("query", sql, "--format", "json", cwd=tmp_path).stdout.splitlines()
    first = json.loads(lines[0])
    assert re.fullmatch(r"[0-9a-f]{32}", first["trace_id"])
    assert first["attributes"]["http.request.method"] == "GET"  # nested values as JSON
    raw = subprocess.run(
        [EXE, "query", sql, "--format", "arrow"],
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    arrow = pa.ipc.open_stream(raw.stdout).read_all()
    assert arrow.num_rows == 3 and pa.types.is_binary(arrow.schema.field("trace_id").type)
    bad = _run("query", "SELECT nope FROM traces", cwd=tmp_path)
    assert bad.returncode == 1 and "SQL error" in bad.stderr
    stats = _run("stats", cwd=tmp_path)
    assert stats.returncode == 0
    traces_line = next(line for line in stats.stdout.splitlines() if line.startswith("traces"))
    assert traces_line.split()[1] == "100" and "payment" in traces_line


def test_tail_follows_new_spans_and_logs(tmp_path: Path) -> None:
    import signal as signals

    from otlp_arrow import OtlpLibrary
    from tests import sample

    assert EXE is not None
    out = tmp_path / "data"
    with OtlpLibrary(output_dir=out, write_interval="10ms") as library:
        library.export_traces(sample.traces(5, start_ns=10**18, seed=1))  # before tail: not shown
        library.flush()
        proc = subprocess.Popen(
            [EXE, "tail", "--output-dir", str(out), "--service", "frontend"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        assert "following new traces and logs" in proc.stderr.readline()  # stock taken
        traces = sample.traces(8, start_ns=2 * 10**18, seed=2)
        library.export_traces(traces)
        library.export_logs(sample.logs(1, start_ns=2 * 10**18, traces_request=traces))
        library.flush()
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]  # 2 frontend spans + 1 log record
        proc.send_signal(signals.SIGINT)
        assert proc.wait(10) in (0, 130)
        proc.stdout.close()
        proc.stderr.close()
    spans = [line for line in lines if " span " in line]
    logs = [line for line in lines if " log " in line]
    assert len(spans) == 2 and len(logs) == 1
    assert all("frontend" in line and "GET /" in line for line in spans)
    assert re.search(r"\b[0-9a-f]{32}\b", spans[0])  # the trace id, to look it up


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_serve_with_the_viewer_shows_what_it_receives(tmp_path: Path) -> None:
    proc, ports = start_serve(tmp_path, "--grpc-port", "0", "--http-port", "0", "--viewer", "0")
    try:
        body = json.dumps(
            {
                "resourceSpans": [
                    {
                        "resource": {
                            "attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]
                        },
                        "scopeSpans": [
                            {
                                "spans": [
                                    {
                                        "traceId": "5b8efff798038103d269b633813fc60c",
                                        "spanId": "eee19b7ec3c1b174",
                                        "name": "GET /",
                                        "startTimeUnixNano": "1764000000000000000",
                                        "endTimeUnixNano": "1764000000200000000",
                                    }
                                ]
                            }
                        ],
                    }
                ]
            }
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{ports['HTTP']}/v1/traces",
            data=body,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        viewer = f"http://127.0.0.1:{ports['viewer']}"
        deadline = time.monotonic() + 10
        while _get_json(viewer + "/api/status")["traces"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        page = _get_json(viewer + "/api/traces")
        assert [(t["trace_id"], t["root_name"], t["root_service"]) for t in page["traces"]] == [
            ("5b8efff798038103d269b633813fc60c", "GET /", "web")
        ]
    finally:
        stop_serve(proc)


def test_view_command_serves_a_directory(tmp_path: Path) -> None:
    with otlp_arrow.OtlpLibrary(output_dir=tmp_path) as library:
        library.export_logs(sample.logs(12, start_ns=T0))
    assert EXE is not None
    proc = subprocess.Popen(
        [EXE, "view", "--output-dir", str(tmp_path), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"viewer of .* on (http://127\.0\.0\.1:\d+/) \(Ctrl\+C stops\)", line)
        assert match, line
        assert _get_json(match.group(1) + "api/status") == {"traces": 0, "metrics": 0, "logs": 12}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        if proc.stderr is not None:
            proc.stderr.close()
    assert main(["view", "--output-dir", str(tmp_path), "--port", "70000"]) == 1


def test_view_of_a_directory_that_does_not_exist_yet_says_so(tmp_path: Path) -> None:
    assert EXE is not None
    proc = subprocess.Popen(
        [EXE, "view", "--output-dir", str(tmp_path / "later"), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline(), proc.stderr.readline()]
        assert "does not exist (yet)" in lines[1], lines
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", lines[0])
        assert url and _get_json(url.group(1) + "api/status") == {
            "traces": 0,
            "metrics": 0,
            "logs": 0,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        if proc.stderr is not None:
            proc.stderr.close()


def test_view_on_every_address_says_so_and_warns(tmp_path: Path) -> None:
    assert EXE is not None
    proc = subprocess.Popen(
        [EXE, "view", "--output-dir", str(tmp_path), "--port", "0", "--host", "0.0.0.0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the viewer listens once this is written
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=15)[1]
    assert proc.returncode == 0
    assert re.search(r"on http://127\.0\.0\.1:\d+/ \(listening on 0\.0\.0\.0\)", first), first
    warned = [line for line in rest.splitlines() if "without TLS or auth_bearer_tokens" in line]
    assert len(warned) == 1, rest
    assert "read everything stored through the viewer" in warned[0]
    assert "send data" not in warned[0]  # the viewer receives nothing


@pytest.mark.parametrize("taken", ["--grpc-port", "--http-port"])
def test_serve_on_a_taken_port_says_so_in_one_line(tmp_path: Path, taken: str) -> None:
    with socket.socket() as other:  # another process's listener
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        ports = {"--grpc-port": "0", "--http-port": "0", taken: str(port)}
        done = _run("serve", "--output-dir", str(tmp_path), *(x for p in ports.items() for x in p))
    protocol = "gRPC" if taken == "--grpc-port" else "HTTP"
    assert done.returncode == 1
    assert done.stderr.strip().endswith(
        f"otlp-arrow: error: cannot listen for OTLP/{protocol} on 127.0.0.1:{port}: "
        "Address already in use"
    ), done.stderr
    assert "add_port" not in done.stderr  # gRPC's own log line
    assert "stopped; everything received" not in done.stderr  # it never started


@pytest.mark.parametrize(
    "command", [["query", "SELECT count(*) FROM traces"], ["stats"], ["compact"]]
)
def test_reading_commands_refuse_a_directory_that_is_not_there(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo"
    done = _run(*command, "--output-dir", str(missing))
    assert done.returncode == 1 and not done.stdout
    assert done.stderr.strip() == (
        f"otlp-arrow: error: {missing} does not exist: nothing is stored there "
        "(--output-dir or OTLP_ARROW_OUTPUT_DIR chooses the directory)"
    )
    assert not missing.exists()


def test_compact_with_a_negative_grace_names_the_option(tmp_path: Path) -> None:
    done = _run("compact", "--output-dir", str(tmp_path), "--grace", "-5")
    assert done.returncode == 1
    assert done.stderr.strip() == "otlp-arrow: error: --grace -5: must not be negative"


def test_an_empty_query_is_an_error(tmp_path: Path) -> None:
    done = _run("query", " ", "--output-dir", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == "otlp-arrow: error: the SQL query is empty"

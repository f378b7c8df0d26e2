"""The console script, run as a user would."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sysconfig
import time
import urllib.request
from pathlib import Path
from typing import Any

import otlp_arrow
from otlp_arrow import _sample, read_table
from otlp_arrow.cli import main
from otlp_arrow.config import render_docs
from tests.helpers import T0, start_serve, stop_serve

EXE = shutil.which("otlp-arrow", path=sysconfig.get_path("scripts"))


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert EXE is not None, "the otlp-arrow console script is not installed"
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_help_and_version() -> None:
    done = _run("--help")
    assert done.returncode == 0 and "demo" in done.stdout and "config" in done.stdout
    done = _run("--version")
    assert done.stdout.strip() == f"otlp-arrow {otlp_arrow.__version__}"


def test_demo_writes_all_signals_to_the_default_directory(tmp_path: Path) -> None:
    done = _run("demo", "--spans", "200", "--rounds", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "otlp-arrow-data"
    assert str(out) in done.stdout
    assert read_table(out, "traces").num_rows == 400
    assert read_table(out, "metrics").num_rows == 2 * 20
    assert read_table(out, "logs").num_rows == 200
    table = {
        line.split()[0]: line.split()[1:3]
        for line in done.stdout.splitlines()
        if line.startswith(("traces ", "metrics ", "logs "))
    }
    assert table == {"traces": ["400", "1"], "metrics": ["40", "1"], "logs": ["200", "1"]}


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

    assert _run("demo", "--spans", "100", "--rounds", "1", cwd=tmp_path).returncode == 0
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
    assert json.loads(first["attributes"])["http.request.method"] == "GET"
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
    import time

    from otlp_arrow import OtlpLibrary, _sample

    assert EXE is not None
    out = tmp_path / "data"
    with OtlpLibrary(output_dir=out, write_interval="10ms") as library:
        library.export_traces(_sample.traces(5, start_ns=10**18, seed=1))  # before tail: not shown
        library.flush()
        proc = subprocess.Popen(
            [EXE, "tail", "--output-dir", str(out), "--service", "frontend"],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)  # tail has looked at what is there
        traces = _sample.traces(8, start_ns=2 * 10**18, seed=2)
        library.export_traces(traces)
        library.export_logs(_sample.logs(1, start_ns=2 * 10**18, traces_request=traces))
        library.flush()
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]  # 2 frontend spans + 1 log record
        proc.send_signal(signals.SIGINT)
        assert proc.wait(10) in (0, 130)
        proc.stdout.close()
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
        library.export_logs(_sample.logs(12, start_ns=T0))
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

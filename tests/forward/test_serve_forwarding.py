"""Forwarding and replay between real ``otlp-arrow serve`` processes, and secrets that never
show up in anything the process writes."""

from __future__ import annotations

import os
import re
import subprocess
import sysconfig
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from otlp_arrow import Config, ConfigError, OtlpLibrary, read_table
from otlp_arrow.schema import SIGNALS
from tests import sample
from tests.forward.endpoint import HttpEndpoint, Reply
from tests.helpers import T0, start_serve, stop_serve

EXE = str(Path(sysconfig.get_path("scripts")) / "otlp-arrow")


def sample_requests() -> dict[str, Any]:
    traces = sample.traces(300, start_ns=T0, seed=3)
    return {
        "traces": traces,
        "metrics": sample.metrics(120, time_ns=T0, seed=3),
        "logs": sample.logs(150, start_ns=T0, seed=3, traces_request=traces),
    }


def post(port: int, signal: str, request: Any) -> None:
    http_request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/{signal}",
        data=request.SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    with urllib.request.urlopen(http_request, timeout=10) as response:
        assert response.status == 200


def rows(out: Path, signal: str) -> list[str]:
    """The stored rows as comparable text, in a canonical order."""
    return sorted(repr(row) for row in read_table(out, signal).to_pylist())


def wait_rows(out: Path, expected: dict[str, int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(read_table(out, s).num_rows == n for s, n in expected.items()):
            return
        time.sleep(0.1)
    got = {s: read_table(out, s).num_rows for s in expected}
    raise AssertionError(f"expected {expected} rows, got {got}")


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf", "http/json"])
def test_forward_from_one_serve_to_another(tmp_path: Path, protocol: str) -> None:
    second, second_ports = start_serve(tmp_path / "second", "--grpc-port", "0", "--http-port", "0")
    try:
        port = second_ports["gRPC" if protocol == "grpc" else "HTTP"]
        first, first_ports = start_serve(
            tmp_path / "first",
            "--grpc-port",
            "0",
            "--http-port",
            "0",
            env={
                "OTLP_ARROW_FORWARD_ENDPOINT": f"http://127.0.0.1:{port}",
                "OTLP_ARROW_FORWARD_PROTOCOL": protocol,
                "OTLP_ARROW_FORWARD_BATCH_ROWS": "100",
            },
        )
        for signal, request in sample_requests().items():
            post(first_ports["HTTP"], signal, request)
        log = stop_serve(first)  # stopping sends what is stored (forward_timeout)
        assert "forwarding stopped with" not in log
        expected = {s: read_table(tmp_path / "first", s).num_rows for s in SIGNALS}
        assert expected == {"traces": 300, "metrics": 120, "logs": 150}
        wait_rows(tmp_path / "second", expected)
    finally:
        stop_serve(second)
    for signal in SIGNALS:
        assert rows(tmp_path / "second", signal) == rows(tmp_path / "first", signal), signal


def test_replay_a_directory_into_a_fresh_server(tmp_path: Path) -> None:
    with OtlpLibrary(output_dir=tmp_path / "stored", rotate_bytes="64KiB") as library:
        for signal, request in sample_requests().items():
            getattr(library, f"export_{signal}")(request)
        library.export_traces(sample.traces(40, start_ns=T0 + 3600 * 10**9, seed=8))
    server, ports = start_serve(tmp_path / "fresh", "--grpc-port", "0", "--http-port", "0")
    try:
        done = subprocess.run(
            [
                EXE,
                "replay",
                "--output-dir",
                str(tmp_path / "stored"),
                "--to",
                f"http://127.0.0.1:{ports['gRPC']}",
                "--protocol",
                "grpc",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "100%" in done.stderr  # progress
        assert re.search(r"^traces\s+340\s+340\s+0\s+0$", done.stdout, re.MULTILINE)
        wait_rows(tmp_path / "fresh", {"traces": 340, "metrics": 120, "logs": 150})
        later = subprocess.run(
            [
                EXE,
                "replay",
                "--output-dir",
                str(tmp_path / "stored"),
                "--to",
                f"http://127.0.0.1:{ports['HTTP']}",
                "--signal",
                "traces",
                "--since",
                "2025-11-24T17:00:00",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert later.returncode == 0, later.stderr
        wait_rows(tmp_path / "fresh", {"traces": 380})  # only the 40 spans of the later hour
    finally:
        stop_serve(server)
    for signal in ("metrics", "logs"):
        assert rows(tmp_path / "fresh", signal) == rows(tmp_path / "stored", signal)


def _replay(out: Path, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "replay", "--output-dir", str(out), "--to", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_replay_says_what_it_could_not_send(tmp_path: Path) -> None:
    endpoint = HttpEndpoint().start()
    endpoint.script.append(Reply(400))
    try:
        with OtlpLibrary(output_dir=tmp_path) as library:
            library.export_logs(sample.logs(30, start_ns=T0))
        done = _replay(tmp_path, endpoint.url)
    finally:
        endpoint.stop()
    assert done.returncode == 1
    assert "HTTP 400" in done.stderr
    assert re.search(r"^logs\s+30\s+0\s+0\s+30$", done.stdout, re.MULTILINE), done.stdout


def test_replay_sends_the_forward_signals_setting_unless_told_otherwise(tmp_path: Path) -> None:
    endpoint = HttpEndpoint().start()
    try:
        with OtlpLibrary(output_dir=tmp_path) as library:
            library.export_logs(sample.logs(30, start_ns=T0))
            library.export_traces(sample.traces(20, start_ns=T0))
        done = _replay(tmp_path, endpoint.url, OTLP_ARROW_FORWARD_SIGNALS="logs")
    finally:
        endpoint.stop()
    assert done.returncode == 0, done.stderr
    assert re.search(r"^logs\s+30\s+30\s+0\s+0$", done.stdout, re.MULTILINE), done.stdout
    assert not re.search(r"^traces", done.stdout, re.MULTILINE), done.stdout
    assert len(endpoint.items("logs")) == 30 and not endpoint.items("traces")


SECRETS = ("token-5f2a9c71", "key-8d1e44b0", "tenant-c07b2f19", "user:pass-93aa01")


def test_secrets_never_appear_in_anything_the_process_writes(tmp_path: Path) -> None:
    (tmp_path / "api-key").write_text(SECRETS[1] + "\n")
    env = {
        "OTLP_ARROW_FORWARD_BEARER_TOKEN": SECRETS[0],
        "OTLP_ARROW_FORWARD_API_KEY": f"file:{tmp_path / 'api-key'}",
        "OTLP_ARROW_FORWARD_API_KEY_HEADER": "X-Api-Key",
        "OTLP_ARROW_FORWARD_HEADERS": f"x-tenant={SECRETS[2]}",
    }
    endpoint = HttpEndpoint().start()
    endpoint.script.extend([Reply(401), Reply(503)])  # errors get logged: without secrets
    out = tmp_path / "data"
    try:
        server, ports = start_serve(
            out,
            "--grpc-port",
            "0",
            "--http-port",
            "0",
            env={**env, "OTLP_ARROW_FORWARD_ENDPOINT": endpoint.url},
        )
        requests = sample_requests()
        deadline = time.monotonic() + 20
        while not endpoint.received and time.monotonic() < deadline:  # 401, 503, then OK
            post(ports["HTTP"], "traces", requests["traces"])
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['HTTP']}/metrics") as response:
            metrics = response.read().decode()
        written = stop_serve(server)
    finally:
        endpoint.stop()
    headers = endpoint.received[0].headers  # the credentials did go where they belong
    assert headers["authorization"] == f"Bearer {SECRETS[0]}"
    assert headers["x-api-key"] == SECRETS[1] and headers["x-tenant"] == SECRETS[2]
    failed = re.search(r'otlp_arrow_forward_rows_failed_total\{signal="traces"\} (\d+)', metrics)
    assert failed and int(failed.group(1)) >= 300  # the batch the 401 refused
    assert "otlp_arrow_forward_breaker_state 0" in metrics and "HTTP 401" in written
    config = subprocess.run(
        [EXE, "config"], capture_output=True, text=True, env={**_environ(), **env}, timeout=30
    )
    assert "forward_bearer_token = ***" in config.stdout
    everything = [written, metrics, config.stdout, config.stderr]
    everything += [repr(Config.load(env=env)), str(Config.load(env=env))]
    with pytest.raises(ConfigError) as bad:
        Config.load(env={"OTLP_ARROW_FORWARD_BEARER_TOKEN": SECRETS[3] + "\nx"})
    everything.append(str(bad.value))
    files = [p.read_bytes() for p in out.rglob("*") if p.is_file()]
    for secret in SECRETS:
        assert all(secret not in text for text in everything), secret
        assert all(secret.encode() not in data for data in files), secret


def _environ() -> dict[str, str]:
    return dict(os.environ)

"""The console script, run as a user would."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import otlp_arrow
from otlp_arrow import read_table
from otlp_arrow.cli import main
from otlp_arrow.config import render_docs

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

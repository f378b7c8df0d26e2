"""``otlp-arrow iceberg repair|retention`` in a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from otlp_arrow.lake.iceberg import Committer
from tests.lake.conftest import write_sealed


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "otlp_arrow.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_repair_then_retention(tmp_path: Path) -> None:
    out = tmp_path / "data"
    write_sealed(out, n=10)
    catalog = f"sqlite:///{tmp_path / 'catalog.db'}"
    env = {"OTLP_ARROW_ICEBERG_CATALOG": catalog}
    done = _cli("iceberg", "repair", "--output-dir", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert "traces: 1 sealed file(s) committed" in done.stdout
    assert Committer(catalog, str(out)).table("traces").scan().to_arrow().num_rows == 10
    env["OTLP_ARROW_RETENTION_AGE"] = "1d"  # the sample data is from 2025
    done = _cli("iceberg", "retention", "--output-dir", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert "traces: 10 row(s) removed" in done.stdout
    assert not list((out / "traces").rglob("*.parquet"))


def test_without_a_catalog_it_says_what_is_missing(tmp_path: Path) -> None:
    done = _cli("iceberg", "repair", "--output-dir", str(tmp_path))
    assert done.returncode == 2
    assert "iceberg_catalog" in done.stderr

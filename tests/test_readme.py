"""The README's quick start works as written: its Python blocks run in a fresh interpreter."""

from __future__ import annotations

import re
from pathlib import Path

from otlp_arrow import read_table
from tests.helpers import python

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
QUICK_START = README[README.index("## Quick start with") : README.index("## Embedded API")]
BLOCKS = re.findall(r"```python\n(.*?)```", QUICK_START, flags=re.DOTALL)

USE_IT = """
from opentelemetry import metrics, trace
with trace.get_tracer("readme").start_as_current_span("checkout"):
    logging.getLogger("readme").warning("paid")
    metrics.get_meter("readme").create_counter("orders").add(1)
"""


def test_quick_start_blocks_run_and_write_every_signal(tmp_path: Path) -> None:
    assert len(BLOCKS) == 5  # library, traces, metrics, logs, read back
    *setup, read_back = BLOCKS
    python("\n".join(setup) + USE_IT, cwd=tmp_path)  # data written at exit
    assert read_table(tmp_path / "telemetry", "traces").column("name").to_pylist() == ["checkout"]
    assert read_table(tmp_path / "telemetry", "logs").num_rows == 1
    assert (
        "orders" in read_table(tmp_path / "telemetry", "metrics").column("metric_name").to_pylist()
    )
    shown = python(read_back, cwd=tmp_path).stdout
    assert "checkout" in shown and "p99_ms" in shown

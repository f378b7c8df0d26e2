"""Stored telemetry for the viewer tests: rounds of correlated traces, metrics and logs,
one minute apart."""

from __future__ import annotations

from pathlib import Path

from otlp_arrow import OtlpLibrary
from tests import sample
from tests.helpers import T0

MINUTE = 60 * 10**9


def store_rounds(out: Path, rounds: int, spans: int, points: int, records: int) -> Path:
    with OtlpLibrary(output_dir=out, write_interval="10ms") as library:
        for seed in range(rounds):
            start = T0 + seed * MINUTE
            traces = sample.traces(spans, start_ns=start, seed=seed)
            library.export_traces(traces)
            library.export_metrics(sample.metrics(points, time_ns=start, seed=seed))
            library.export_logs(
                sample.logs(records, start_ns=start, seed=seed, traces_request=traces)
            )
            library.flush()
    return out

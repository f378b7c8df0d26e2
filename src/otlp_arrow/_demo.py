"""``otlp-arrow demo``: write sample traces, metrics and logs through the embedded API and
show what was written and where."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.compute as pc

from otlp_arrow import _sample
from otlp_arrow.config import Config
from otlp_arrow.library import OtlpLibrary
from otlp_arrow.schema import SIGNALS
from otlp_arrow.storage.reader import read_table, signal_files


def run(config: Config, *, spans: int = 2000, rounds: int = 5) -> int:
    """Export ``rounds`` rounds of sample data, flush, then print a summary. Returns 0."""
    out = config.output_dir
    print(f"otlp-arrow demo: writing sample telemetry of a small web shop to {out.resolve()}")
    now = time.time_ns()
    with OtlpLibrary(config) as library:
        for i in range(rounds):
            start = now + i * spans * 1_000_000
            traces = _sample.traces(spans, start_ns=start, seed=i)
            library.export_traces(traces)
            library.export_metrics(_sample.metrics(spans // 10, time_ns=start, seed=i))
            library.export_logs(
                _sample.logs(spans // 2, start_ns=start, seed=i, traces_request=traces)
            )
            print(
                f"  round {i + 1}/{rounds}: exported {spans} spans, {spans // 10} metric "
                f"points, {spans // 2} log records"
            )
        library.flush()
    print()
    print(f"{'signal':<8} {'rows':>8} {'files':>6} {'bytes':>10}  directory")
    for signal in SIGNALS:
        files = signal_files(out, signal)
        rows = read_table(out, signal).num_rows
        print(
            f"{signal:<8} {rows:>8} {len(files):>6} {sum(f.size for f in files):>10}  "
            f"{Path(out, signal)}"
        )
    _print_top_spans(out)
    print()
    where = "" if out == Path("otlp-arrow-data") else f" --output-dir {out}"
    print(
        "Query it with SQL:        otlp-arrow query "
        f'"SELECT name, count(*) FROM traces GROUP BY 1"{where}'
    )
    print(f"Or in Python:             otlp_arrow.connect({str(out)!r}).traces()")
    print("More: docs/querying.md and docs/schema.md")
    return 0


def _print_top_spans(out: Path) -> None:
    traces = read_table(out, "traces")
    if not traces.num_rows:
        return
    grouped = (
        traces.group_by("name")
        .aggregate(
            [
                ("duration_ns", "count"),
                ("duration_ns", "approximate_median"),
                ("duration_ns", "max"),
                ("status_code", "max"),
            ]
        )
        .sort_by([("duration_ns_count", "descending")])
    )
    print()
    print(f"{'span name':<20} {'count':>6} {'median ms':>10} {'max ms':>9}  errors")
    errors = (
        traces.filter(pc.equal(traces["status_code"], 2))
        .group_by("name")
        .aggregate([("span_id", "count")])
    )
    error_count = dict(
        zip(errors["name"].to_pylist(), errors["span_id_count"].to_pylist(), strict=True)
    )
    for row in grouped.to_pylist()[:8]:
        print(
            f"{row['name']:<20} {row['duration_ns_count']:>6} "
            f"{row['duration_ns_approximate_median'] / 1e6:>10.2f} "
            f"{row['duration_ns_max'] / 1e6:>9.2f}  {error_count.get(row['name'], 0)}"
        )

"""Arrow -> serialized OTLP requests, the native encoder against its peers, same run.

    .venv/bin/python benches/bench_encode.py [--quick]

Standard workload (the one of ``bench_convert.py``): requests of 512 spans with 12 attributes
of mixed types and one event each; metric requests with points of all five types; log
requests of 512 records with attributes and trace context. Each request is converted to a
table once, beforehand; then, per signal, items per second of:

- ``native``: ``arrow_to_otlp_bytes(table, signal)``, the public call (schema check and cast,
  the C Data Interface hand-over, the Rust encoder with the GIL released);
- ``core``: the native encoder's ``encode`` alone on a table already handed over;
- ``upb serialize``: ``SerializeToString()`` of the same requests, messages built beforehand;
- ``python``: ``arrow_to_otlp(table, signal).SerializeToString()`` (the route without the
  native core).

Then the ratios native/upb-serialize (target >= 0.5x) and native/python.
"""

from __future__ import annotations

import sys
from typing import Any

from bench_convert import best_rate
from bench_native import UNIT, interleaved, standard_run
from otlp_arrow import arrow_to_otlp, arrow_to_otlp_bytes, otlp_to_arrow
from otlp_arrow.convert.native import ENCODE_SIGNALS, native_encoder


def main() -> int:
    data, repeat = standard_run(__doc__)
    print(
        f"\n{'signal':<8} {'native /s':>12} {'core /s':>12} {'upb serialize /s':>17} "
        f"{'python /s':>11} {'native/upb':>11} {'core/upb':>9} {'native/python':>14}"
    )
    for signal, reqs in data.items():
        if signal not in ENCODE_SIGNALS:
            print(f"{signal:<8} (not encoded natively)")
            continue
        tables = [otlp_to_arrow(r) for r in reqs]
        items = sum(t.num_rows for t in tables)
        encoders: list[Any] = [native_encoder(t, signal) for t in tables]
        ranges = [(encoder, 0, t.num_rows) for encoder, t in zip(encoders, tables, strict=True)]
        rates = interleaved(
            items,
            {
                "native": lambda ts=tables, s=signal: [arrow_to_otlp_bytes(t, s) for t in ts],
                "core": lambda rs=ranges: [e.encode(a, b) for e, a, b in rs],
                "upb": lambda rs=reqs: [r.SerializeToString() for r in rs],
            },
            repeat,
        )
        native, core, upb = rates["native"], rates["core"], rates["upb"]
        python = best_rate(
            items,
            lambda ts=tables, s=signal: [arrow_to_otlp(t, s).SerializeToString() for t in ts],
            max(1, repeat // 4),
        )
        print(
            f"{signal:<8} {native:>12,.0f} {core:>12,.0f} {upb:>17,.0f} {python:>11,.0f} "
            f"{native / upb:>10.2f}x {core / upb:>8.2f}x {native / python:>13.1f}x"
            f"   ({UNIT[signal]})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

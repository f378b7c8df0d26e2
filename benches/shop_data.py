"""The demo shop's telemetry in bulk, for the storage benchmark.

The real ``otlp_arrow.cli.shop.Shop`` (real OpenTelemetry SDK, official OTLP/HTTP exporters)
sends to a ``MockOtlpServer``; only its clock is simulated: the shop's waits advance a fake
``time_ns`` (nanosecond jitter included) instead of sleeping, so a minute of shop traffic takes
seconds and span durations keep the shop's distribution. Several rounds of requests at once
keep the SDK's batch processors busy; their queues are raised so that nothing is dropped.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

_QUEUE = "1000000"


class FakeClock:
    """Nanoseconds since a fixed start, advanced by what the shop would have slept."""

    def __init__(self, start_ns: int, seed: int) -> None:
        self.now = start_ns
        self.random = random.Random(seed)

    def __call__(self) -> int:
        self.now += self.random.randint(1_000, 40_000)  # the work between two clock readings
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += int(seconds * 1e9) + self.random.randint(0, 999)


def shop_telemetry(spans: int, seed: int = 7) -> dict[str, pa.Table]:
    """At least ``spans`` spans of the demo shop, with the metrics and logs it sent meanwhile
    (Arrow tables of the stored schema)."""
    for name in ("OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BLRP_MAX_QUEUE_SIZE"):
        os.environ[name] = _QUEUE
    os.environ["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] = "1000"
    os.environ["OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"] = "1000"
    import opentelemetry.sdk._logs._internal as sdk_logs
    import opentelemetry.sdk.trace as sdk_trace

    from otlp_arrow.cli import shop as shop_module
    from otlp_arrow.cli.shop import ROUTES, Shop
    from otlp_arrow.testing import MockOtlpServer

    clock = FakeClock(time.time_ns() - 3_600 * 10**9, seed)
    saved: list[tuple[Any, str, Any]] = [
        (sdk_trace, "time_ns", sdk_trace.time_ns),
        (sdk_logs, "time_ns", sdk_logs.time_ns),
    ]
    for module, attr, _ in saved:
        setattr(module, attr, clock)
    try:
        with MockOtlpServer(max_receive_bytes=256 * 1024**2) as server:
            shop = Shop(server.http_endpoint, rate=50.0, seed=seed)
            shop._work = lambda low, high: clock.sleep(shop.random.uniform(low, high))  # type: ignore[method-assign]
            routes = [(m, r) for m, r, _ in ROUTES]
            weights = [w for _, _, w in ROUTES]
            made = 0
            while made < spans:
                for _ in range(200):
                    method, route = shop.random.choices(routes, weights)[0]
                    shop.request(method, route)
                    clock.sleep(shop.random.expovariate(shop.rate))
                for service in shop.services.values():
                    service.providers[0].force_flush()
                made = server.table("traces").num_rows
            shop.stop()
            del shop_module
            return {s: server.table(s) for s in ("traces", "metrics", "logs")}  # type: ignore[arg-type]
    finally:
        for module, attr, original in saved:
            setattr(module, attr, original)


def cached(spans: int, cache_dir: Path) -> dict[str, pa.Table]:
    """:func:`shop_telemetry`, kept in ``cache_dir`` (Arrow IPC files) for the next run."""
    paths = {s: cache_dir / f"shop-{spans}-{s}.arrows" for s in ("traces", "metrics", "logs")}
    if all(p.exists() for p in paths.values()):
        return {s: pa.ipc.open_stream(p).read_all() for s, p in paths.items()}
    tables = shop_telemetry(spans)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for signal, table in tables.items():
        with pa.ipc.new_stream(paths[signal], table.schema) as out:  # dictionaries vary
            out.write_table(table)
    return tables


if __name__ == "__main__":
    started = time.perf_counter()
    made = cached(int(sys.argv[1]), Path(sys.argv[2]))
    print({s: t.num_rows for s, t in made.items()}, f"{time.perf_counter() - started:.1f}s")

"""SDK exporters against the official OTLP encoder, on the same SDK objects, in one run.

    .venv/bin/python benches/bench_exporters.py [--quick]

For each signal: our exporter's ``export()`` of a batch (conversion to Arrow, spans by the
native reader when the native core is built, and hand-over to the library's buffer; the
library writes to a temporary directory meanwhile, on its own thread) against
``encode_*(batch).SerializeToString()`` (what the official OTLP exporter does before sending),
taking turns, as CPU time of the calling thread (so the ratio holds on a busy machine).
Then the span conversion alone, native reader against the Python collector; then
``export_metrics_ref`` against ``export_metrics``: time, and bytes allocated and peak memory
per export measured with ``tracemalloc``.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otlp_arrow import OtlpLibrary

BATCH = 512
RESOURCE = Resource.create({"service.name": "shop", "service.version": "1.4.2"})
ROUTES = ("/", "/cart", "/checkout", "/products/{id}", "/search")


def standard_spans(rng: random.Random) -> list[Any]:
    """The standard span of benches/bench_convert.py, made by the SDK: 12 attributes of mixed
    types (one a string tuple) and one event."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("shop.instrumentation", "0.9.0")
    for _ in range(BATCH):
        route = rng.choice(ROUTES)
        attributes = {
            "http.request.method": "GET",
            "http.route": route,
            "http.response.status_code": 200,
            "url.full": f"https://shop.example{route}?q={rng.randint(0, 10**6)}",
            "server.port": 443,
            "user.id": f"user-{rng.randint(1, 5000)}",
            "cache.hit": rng.random() < 0.7,
            "db.rows": rng.randint(0, 500),
            "load.factor": round(rng.random(), 3),
            "cloud.region": "eu-west-1",
            "tags": ("shop", route),
            "payload.size": rng.random() * 10_000,
        }
        with tracer.start_as_current_span(f"GET {route}", attributes=attributes) as span:
            span.add_event("cache.lookup", {"cache.key": route})
    provider.shutdown()
    return list(exporter.get_finished_spans())


def standard_metrics(rng: random.Random) -> Any:
    """About 512 data points over every synchronous instrument kind."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("shop.metrics")
    counter = meter.create_counter("http.server.requests")
    updown = meter.create_up_down_counter("http.server.active")
    histogram = meter.create_histogram("http.server.duration", unit="ms")
    gauge = meter.create_gauge("process.memory.usage", unit="By")
    for i in range(BATCH // 4):
        attrs = {"http.route": ROUTES[i % 5], "instance": i}
        counter.add(rng.randint(1, 9), attrs)
        updown.add(rng.randint(-3, 3), attrs)
        histogram.record(rng.random() * 100, attrs)
        gauge.set(rng.random() * 2**30, attrs)
    data = reader.get_metrics_data()
    provider.shutdown()
    return data


def standard_logs(rng: random.Random) -> list[Any]:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger("bench.logs")
    logger.propagate = False
    from opentelemetry.sdk._logs import LoggingHandler

    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    for _ in range(BATCH):
        logger.warning(
            "handled %s in %d ms",
            rng.choice(ROUTES),
            rng.randint(1, 90),
            extra={"thread.id": rng.randint(1, 8), "code.function": "handle"},
        )
    logger.removeHandler(handler)
    provider.shutdown()
    return list(exporter.get_finished_logs())


def best_rate(items: int, action: Callable[[], Any], repeat: int) -> float:
    return paired_rates(items, action, action, repeat)[0]


def paired_rates(
    items: int, ours: Callable[[], Any], theirs: Callable[[], Any], repeat: int
) -> tuple[float, float]:
    """Items per CPU-second of the calling thread (``time.thread_time``: what another process
    or the library's writer thread does meanwhile is not counted), best of ``repeat``, the two
    actions taking turns so that a machine whose speed drifts affects both alike."""
    ours()
    theirs()
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for index, action in enumerate((ours, theirs)):
            start = time.thread_time()
            action()
            best[index] = min(best[index], time.thread_time() - start)
    return items / best[0], items / best[1]


def allocations(action: Callable[[], Any], repeat: int = 5) -> tuple[float, float]:
    """Mean bytes allocated (sum of sizes of blocks allocated, net of nothing) and mean peak
    traced memory per call."""
    action()
    totals = []
    peaks = []
    for _ in range(repeat):
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        action()
        after = tracemalloc.take_snapshot()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        stats = after.compare_to(before, "filename")
        totals.append(sum(max(s.size_diff, 0) for s in stats))
        peaks.append(peak)
    return sum(totals) / repeat, sum(peaks) / repeat


def native_reader(spans: list[Any], repeat: int) -> None:
    """Issue #11, point 4: the conversion alone, SDK spans to Arrow, by the native reader
    (``convert.native.convert_sdk_spans``: what ``export()`` uses) against the Python
    collector (``from_sdk.spans_to_arrow``: its specification and fallback)."""
    from otlp_arrow.convert.from_sdk import spans_to_arrow
    from otlp_arrow.convert.native import convert_sdk_spans

    if convert_sdk_spans(spans) is None:
        print("\n(native core not built, or it leaves these spans to the Python collector)")
        return
    native, python = paired_rates(
        len(spans), lambda: convert_sdk_spans(spans), lambda: spans_to_arrow(spans), repeat
    )
    print(
        f"\nSDK spans -> Arrow alone: native reader {native:,.0f} spans/s, Python collector "
        f"{python:,.0f} ({native / python:.2f}x; {1e6 / native:.1f} vs {1e6 / python:.1f} us/span)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    repeat = 3 if parser.parse_args().quick else 10
    rng = random.Random(7)
    spans, metrics_data, logs = standard_spans(rng), standard_metrics(rng), standard_logs(rng)
    points = sum(
        len(m.data.data_points)
        for rm in metrics_data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    )
    print(
        f"python {sys.version.split()[0]}; batches of {BATCH} (metrics: {points} points), "
        f"best of {repeat}\n"
    )
    print(f"{'signal':<8} {'our export() /s':>16} {'encode+serialize /s':>20} {'ratio':>7}")
    with (
        tempfile.TemporaryDirectory() as out,
        OtlpLibrary(output_dir=out, max_buffer_rows=50_000_000, max_buffer_bytes="8GiB") as library,
    ):
        cases = [
            (
                "traces",
                len(spans),
                library.span_exporter().export,
                spans,
                lambda: encode_spans(spans).SerializeToString(),
            ),
            (
                "metrics",
                points,
                library.metric_exporter().export,
                metrics_data,
                lambda: encode_metrics(metrics_data).SerializeToString(),
            ),
            (
                "logs",
                len(logs),
                library.log_exporter().export,
                logs,
                lambda: encode_logs(logs).SerializeToString(),
            ),
        ]
        for signal, items, export, batch, official in cases:
            ours, theirs = paired_rates(items, lambda e=export, b=batch: e(b), official, repeat)
            print(f"{signal:<8} {ours:>16,.0f} {theirs:>20,.0f} {ours / theirs:>6.2f}x")
        library.flush()
        native_reader(spans, repeat)

        print("\nexport_metrics_ref vs export_metrics (same MetricsData)")
        for name, call in (
            ("export_metrics_ref", library.export_metrics_ref),
            ("export_metrics", library.export_metrics),
        ):
            rate = best_rate(points, lambda c=call: c(metrics_data), repeat)
            allocated, peak = allocations(lambda c=call: c(metrics_data))
            print(
                f"  {name:<19} {rate:>10,.0f} points/s   allocated {allocated / 1024:>8.1f} KiB"
                f"   peak {peak / 1024:>8.1f} KiB per export"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

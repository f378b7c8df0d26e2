"""A simulated web shop instrumented with the real OpenTelemetry SDK, for ``otlp-arrow demo``.

Three services (``frontend``, ``cart``, ``payment``), each with its own SDK providers and
resource, export over OTLP/HTTP (the official exporters) to a running ``otlp-arrow serve``.
Every request is a trace: a SERVER span in the frontend, CLIENT spans for its outbound calls
and database queries, SERVER spans in the called services; now and then a payment fails with
an exception. Every metric instrument kind is used, and log records carry the trace context.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from otlp_arrow.errors import ConfigError

ROUTES = (
    ("GET", "/", 40),
    ("GET", "/products/{id}", 30),
    ("GET", "/cart", 15),
    ("POST", "/cart/items", 8),
    ("POST", "/checkout", 7),
)
SERVICES = ("frontend", "cart", "payment")
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5)


class PaymentDeclinedError(RuntimeError):
    """The simulated payment provider said no."""


@dataclass
class _Service:
    name: str
    tracer: Any
    meter: Any
    logger: logging.Logger
    providers: list[Any] = field(default_factory=list)


class Shop:
    """The simulated shop sending to ``http://host:port`` (an OTLP/HTTP receiver)."""

    def __init__(self, endpoint: str, *, rate: float = 20.0, seed: int | None = None) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.instrumentation.logging.handler import LoggingHandler
        except ImportError as exc:
            raise ConfigError(
                f"the demo needs the OTLP exporter and logging handler ({exc.name} is missing): "
                "pip install 'otlp-arrow[demo]'"
            ) from None
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.metrics.view import (
            ExplicitBucketHistogramAggregation,
            ExponentialBucketHistogramAggregation,
            View,
        )
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.rate = rate
        self.random = random.Random(seed)
        self.charges = 0  # payments attempted: which ones fail does not depend on luck
        self.requests = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.services: dict[str, _Service] = {}
        for index, name in enumerate(SERVICES):
            resource = Resource.create(
                {
                    "service.name": name,
                    "service.version": "1.4.2",
                    "service.instance.id": f"{name}-1",
                    "deployment.environment.name": "demo",
                    "host.name": f"shop-{index + 1}",
                }
            )
            tracer_provider = TracerProvider(resource=resource)
            tracer_provider.add_span_processor(
                BatchSpanProcessor(
                    OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"), schedule_delay_millis=500
                )
            )
            meter_provider = MeterProvider(
                resource=resource,
                metric_readers=[
                    PeriodicExportingMetricReader(
                        OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"),
                        export_interval_millis=2000,
                    )
                ],
                views=[
                    View(
                        instrument_name="db.client.operation.duration",
                        aggregation=ExponentialBucketHistogramAggregation(max_size=80),
                    ),
                    View(  # the boundaries the HTTP semantic conventions advise, in seconds
                        instrument_name="http.server.request.duration",
                        aggregation=ExplicitBucketHistogramAggregation(HTTP_BUCKETS),
                    ),
                ],
            )
            logger_provider = LoggerProvider(resource=resource)
            logger_provider.add_log_record_processor(
                BatchLogRecordProcessor(
                    OTLPLogExporter(endpoint=f"{endpoint}/v1/logs"), schedule_delay_millis=500
                )
            )
            logger = logging.getLogger(f"otlp_arrow.demo.shop.{name}")
            logger.propagate = False  # to OTLP only, not to the demo's console
            logger.setLevel(logging.INFO)
            logger.addHandler(LoggingHandler(logger_provider=logger_provider))
            self.services[name] = _Service(
                name,
                tracer_provider.get_tracer("shop.http", "1.4.2"),
                meter_provider.get_meter("shop.http", "1.4.2"),
                logger,
                [tracer_provider, meter_provider, logger_provider],
            )
        self._instruments()

    def _instruments(self) -> None:
        """One of every instrument kind the SDK has."""
        front = self.services["frontend"].meter
        self.requests_counter = front.create_counter(
            "http.server.requests", unit="{request}", description="Requests served"
        )
        self.active = front.create_up_down_counter(
            "http.server.active_requests", unit="{request}", description="Requests in progress"
        )
        self.duration = front.create_histogram(
            "http.server.request.duration", unit="s", description="Time to answer a request"
        )
        self.cart_size = front.create_gauge(
            "shop.cart.size", unit="{item}", description="Items in the last cart seen"
        )
        db = self.services["cart"].meter
        self.db_duration = {
            name: service.meter.create_histogram(
                "db.client.operation.duration",
                unit="s",
                description="Database query time (exponential histogram)",
            )
            for name, service in self.services.items()
        }
        start = time.monotonic()

        def cpu(options: Any) -> Iterable[Any]:
            from opentelemetry.metrics import Observation

            yield Observation(time.process_time(), {"cpu.mode": "user"})
            del options

        def memory(options: Any) -> Iterable[Any]:
            from opentelemetry.metrics import Observation

            wave = 200e6 + 40e6 * ((time.monotonic() - start) % 60) / 60
            yield Observation(wave, {"memory.state": "used"})
            del options

        def connections(options: Any) -> Iterable[Any]:
            from opentelemetry.metrics import Observation

            yield Observation(self.random.randint(2, 10), {"pool.name": "carts"})
            del options

        front.create_observable_counter("process.cpu.time", [cpu], unit="s")
        front.create_observable_gauge("process.memory.usage", [memory], unit="By")
        db.create_observable_up_down_counter(
            "db.client.connection.count", [connections], unit="{connection}"
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="otlp-arrow-demo-shop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop making requests, then flush and shut down the SDK (everything is sent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for service in self.services.values():
            for handler in list(service.logger.handlers):
                service.logger.removeHandler(handler)
            for provider in service.providers:
                provider.shutdown()

    def _run(self) -> None:
        routes = [(m, r) for m, r, _ in ROUTES]
        weights = [w for _, _, w in ROUTES]
        while not self._stop.is_set():
            method, route = self.random.choices(routes, weights)[0]
            self.request(method, route)
            self.requests += 1
            self._stop.wait(self.random.expovariate(self.rate))

    def request(self, method: str, route: str) -> None:
        """One request to the frontend: a whole trace."""
        from opentelemetry.trace import SpanKind, Status, StatusCode

        front = self.services["frontend"]
        started = time.perf_counter()
        status = 200
        attributes: dict[str, str | int] = {"http.request.method": method, "http.route": route}
        self.active.add(1, attributes)
        with front.tracer.start_as_current_span(
            f"{method} {route}",
            kind=SpanKind.SERVER,
            attributes={**attributes, "url.scheme": "https", "user_agent.original": "demo"},
        ) as span:
            try:
                self._handle(route)
            except PaymentDeclinedError as exc:
                status = 402
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                front.logger.error("checkout failed: %s", exc)
            span.set_attribute("http.response.status_code", status)
            front.logger.info("%s %s -> %d", method, route.replace("{id}", "42"), status)
        elapsed = time.perf_counter() - started
        self.active.add(-1, attributes)
        answered = {**attributes, "http.response.status_code": status}
        self.requests_counter.add(1, answered)
        self.duration.record(elapsed, answered)

    def _handle(self, route: str) -> None:
        self._work(0.002, 0.004)
        if route == "/":
            self._query("frontend", "SELECT", "products", rows=24)
        elif route == "/products/{id}":
            self._query("frontend", "SELECT", "products", rows=1)
            if self.random.random() < 0.5:
                self._call("cart", "GET", "/cart/count", self._cart_lookup)
        elif route in ("/cart", "/cart/items"):
            self._call("cart", "GET" if route == "/cart" else "POST", route, self._cart_lookup)
        else:
            self._call("cart", "GET", "/cart", self._cart_lookup)
            self._call("payment", "POST", "/charge", self._charge)

    def _cart_lookup(self) -> None:
        items = self.random.randint(0, 6)
        self._query("cart", "SELECT", "cart_items", rows=items)
        self.cart_size.set(items, {"shop.region": self.random.choice(["eu", "us"])})

    def _charge(self) -> None:
        payment = self.services["payment"]
        self._query("payment", "INSERT", "payments", rows=1)
        with payment.tracer.start_as_current_span(
            "card-provider authorize", attributes={"payment.provider": "demo-pay"}
        ):
            self._work(0.01, 0.05)
            self.charges += 1
            if self.charges % 7 == 3:  # one payment in seven fails (~14 %), from the third on
                payment.logger.warning("card declined by the provider")
                raise PaymentDeclinedError("card declined (simulated)")
        payment.logger.info("payment authorized")

    def _call(self, service: str, method: str, route: str, handler: Any) -> None:
        """An outbound HTTP call from the frontend (CLIENT span) to ``service`` (SERVER)."""
        from opentelemetry.trace import SpanKind

        caller = self.services["frontend"]
        callee = self.services[service]
        with caller.tracer.start_as_current_span(
            f"{method}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": method,
                "server.address": f"{service}.shop.internal",
                "url.full": f"http://{service}.shop.internal{route}",
            },
        ) as client:
            code = 200
            try:
                with callee.tracer.start_as_current_span(
                    f"{method} {route}",
                    kind=SpanKind.SERVER,
                    attributes={"http.request.method": method, "http.route": route},
                ) as server:
                    try:
                        handler()
                    except PaymentDeclinedError:
                        code = 402
                        raise
                    finally:
                        server.set_attribute("http.response.status_code", code)
            finally:
                client.set_attribute("http.response.status_code", code)

    def _query(self, service: str, operation: str, table: str, rows: int) -> None:
        from opentelemetry.trace import SpanKind

        owner = self.services[service]
        started = time.perf_counter()
        with owner.tracer.start_as_current_span(
            f"{operation} {table}",
            kind=SpanKind.CLIENT,
            attributes={
                "db.system.name": "postgresql",
                "db.operation.name": operation,
                "db.collection.name": table,
                "db.query.text": f"{operation} ... {table} WHERE id = $1",
                "db.response.returned_rows": rows,
            },
        ):
            self._work(0.001, 0.006 + 0.001 * rows)
        self.db_duration[service].record(
            time.perf_counter() - started, {"db.operation.name": operation, "table": table}
        )

    def _work(self, low: float, high: float) -> None:
        time.sleep(self.random.uniform(low, high))


@contextmanager
def running(endpoint: str, *, rate: float = 20.0) -> Iterator[Shop]:
    """The shop making requests until the block ends; then everything is flushed."""
    shop = Shop(endpoint, rate=rate)
    shop.start()
    try:
        yield shop
    finally:
        shop.stop()

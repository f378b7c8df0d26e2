"""Helpers for users' tests: an in-process OTLP server that keeps what it receives in memory.

    from otlp_arrow.testing import MockOtlpServer

    with MockOtlpServer() as server:
        exporter = OTLPSpanExporter(endpoint=server.grpc_endpoint, insecure=True)
        ...  # run the code under test with that exporter
        spans = server.wait_for("traces", 2)          # a pyarrow.Table, at least 2 rows
        assert server.spans(name="GET /cart").num_rows == 1

It speaks OTLP/gRPC and OTLP/HTTP (protobuf and JSON) on free loopback ports, converts what
arrives with the same code as the real service (so invalid items are refused the same way),
and never writes a file.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import pyarrow as pa
import pyarrow.compute as pc

from otlp_arrow.convert import Converted
from otlp_arrow.receivers.grpc import GrpcReceiver
from otlp_arrow.receivers.handover import ReceiverStats
from otlp_arrow.receivers.http import HttpReceiver
from otlp_arrow.schema import SIGNALS, Signal, schema_for

__all__ = ["MockOtlpServer"]


class MockOtlpServer:
    """An in-process OTLP receiver on free loopback ports, keeping Arrow tables in memory."""

    def __init__(self, *, max_receive_bytes: int = 64 * 1024**2) -> None:
        self._cond = threading.Condition()
        self._batches: dict[str, list[pa.RecordBatch]] = {signal: [] for signal in SIGNALS}
        self.stats = ReceiverStats()
        options = {
            "host": "127.0.0.1",
            "port": 0,
            "max_receive_bytes": max_receive_bytes,
            "retry_after_s": 1.0,
            "stats": self.stats,
        }
        self._grpc = GrpcReceiver(self._accept, **options)  # type: ignore[arg-type]
        self._http = HttpReceiver(self._accept, **options)  # type: ignore[arg-type]
        self.grpc_port: int | None = None
        self.http_port: int | None = None

    @property
    def grpc_endpoint(self) -> str:
        """``host:port`` for OTLP/gRPC exporters (use ``insecure=True``)."""
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Base URL for OTLP/HTTP exporters: append ``/v1/traces``, ``/v1/metrics``, ..."""
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> MockOtlpServer:
        self.grpc_port = self._grpc.start()
        self.http_port = self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop(1.0)
        self._grpc.stop(1.0)

    def __enter__(self) -> MockOtlpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def table(self, signal: Signal) -> pa.Table:
        """Everything received so far for ``signal`` ("traces", "metrics" or "logs")."""
        schema = schema_for(signal)
        with self._cond:
            batches = list(self._batches[signal])
        return pa.Table.from_batches(batches, schema=schema)

    def wait_for(self, signal: Signal, count: int, timeout: float = 10.0) -> pa.Table:
        """Wait until at least ``count`` rows of ``signal`` arrived; return them all. Raises
        AssertionError saying how many arrived if the timeout passes first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (rows := sum(b.num_rows for b in self._batches[signal])) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected at least {count} {signal} rows within {timeout} s, got {rows}"
                    )
                self._cond.wait(remaining)
        return self.table(signal)

    def spans(self, name: str | None = None) -> pa.Table:
        """Spans received, optionally only those called ``name``."""
        return self._named("traces", "name", name)

    def metrics(self, name: str | None = None) -> pa.Table:
        """Metric data points received, optionally only those of metric ``name``."""
        return self._named("metrics", "metric_name", name)

    def logs(self) -> pa.Table:
        return self.table("logs")

    def clear(self) -> None:
        """Forget everything received."""
        with self._cond:
            for batches in self._batches.values():
                batches.clear()

    def _named(self, signal: Signal, column: str, name: str | None) -> pa.Table:
        table = self.table(signal)
        return table if name is None else table.filter(pc.equal(table[column], name))

    def _accept(self, converted: Converted) -> None:
        with self._cond:
            if converted.batch.num_rows:
                self._batches[converted.signal].append(converted.batch)
            self._cond.notify_all()

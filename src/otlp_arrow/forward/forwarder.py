"""Forwarding: what is written locally is also sent to a remote OTLP endpoint.

The writer hands every batch it has written to :meth:`Forwarder.offer`, which never blocks:
the batch goes into the forwarder's own queue, bounded by rows and bytes. When the queue is
full the *oldest* queued batches are dropped — for forwarding only; they are in the local
files, and counted (``otlp_arrow_forward_rows_dropped_total``) so ``otlp-arrow replay`` can
fill the gap. One thread takes batches off the queue, cuts them into requests of
``forward_batch_rows`` rows, converts them with ``arrow_to_otlp`` and delivers each with
retries, back-off and the circuit breaker (``delivery.Delivery``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from otlp_arrow.config import Config
from otlp_arrow.convert import arrow_to_otlp
from otlp_arrow.forward.delivery import DeliveryStats, make_delivery
from otlp_arrow.forward.senders import Sender
from otlp_arrow.schema import Signal

log = logging.getLogger("otlp_arrow.forward")


def requests_of(
    signal: Signal, batch: pa.RecordBatch | pa.Table, rows_per_request: int
) -> list[tuple[Any, int]]:
    """``batch`` as OTLP requests of at most ``rows_per_request`` rows: (request, rows)."""
    out = []
    for start in range(0, batch.num_rows, rows_per_request):
        part = batch.slice(start, rows_per_request)
        out.append((arrow_to_otlp(part, signal), part.num_rows))
    return out


@dataclass
class ForwardStats(DeliveryStats):
    """The delivery's counters, and the forwarder's queue."""

    endpoint: str = ""
    queued_rows: int = 0
    queued_bytes: int = 0
    rows_dropped: dict[Signal, int] = field(default_factory=dict)  # from the full queue
    rows_dropped_at_shutdown: dict[Signal, int] = field(default_factory=dict)


class Forwarder:
    """Forwards offered batches to ``config.forward_endpoint`` on its own thread."""

    def __init__(self, config: Config, sender: Sender | None = None) -> None:
        self.config = config
        self.signals = frozenset(config.forward_signals)
        self.delivery = make_delivery(config, sender)
        self.max_rows = config.forward_queue_rows
        self.max_bytes = config.forward_queue_bytes
        self._queue: deque[tuple[Signal, pa.RecordBatch]] = deque()
        self._rows = 0
        self._bytes = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._closing = False
        self.dropped: Counter[Signal] = Counter()  # rows, per signal, dropped from the queue
        self.dropped_at_shutdown: Counter[Signal] = Counter()
        self._warned_full = False
        self._thread = threading.Thread(target=self._run, name="otlp-arrow-forward", daemon=True)
        self._thread.start()
        log.info(
            "forwarding %s to %s (%s)",
            ", ".join(sorted(self.signals)),
            config.forward_endpoint,
            config.forward_protocol,
        )

    def offer(self, signal: Signal, batch: pa.RecordBatch) -> None:
        """Queue ``batch`` for forwarding; never blocks. Drops the oldest batches (counted)
        when the queue would exceed its limits."""
        if signal not in self.signals or batch.num_rows == 0:
            return
        size = batch.nbytes
        with self._cond:
            if self._closing:
                return
            self._queue.append((signal, batch))
            self._rows += batch.num_rows
            self._bytes += size
            while len(self._queue) > 1 and (
                self._rows > self.max_rows or self._bytes > self.max_bytes
            ):
                old_signal, old = self._queue.popleft()
                self._rows -= old.num_rows
                self._bytes -= old.nbytes
                self.dropped[old_signal] += old.num_rows
                if not self._warned_full:
                    self._warned_full = True
                    log.warning(
                        "the forward queue is full (the endpoint is slower than the data, or "
                        "down): dropping the oldest batches for forwarding; they stay in the "
                        "local files (counted in otlp_arrow_forward_rows_dropped_total; "
                        "otlp-arrow replay can send them later)"
                    )
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                signal, batch = self._queue.popleft()
                self._rows -= batch.num_rows
                self._bytes -= batch.nbytes
                if not self._queue:
                    self._warned_full = False
            try:
                self._forward(signal, batch)
            except Exception:  # pragma: no cover - a defect; keep forwarding the rest
                log.exception("unexpected error while forwarding %s", signal)

    def _forward(self, signal: Signal, batch: pa.RecordBatch) -> None:
        requests = requests_of(signal, batch, self.config.forward_batch_rows)
        for index, (request, rows) in enumerate(requests):
            delivered = self.delivery.deliver(signal, request, rows, self._stop)
            if not delivered and self._stop.is_set():  # stopping: what is left is not sent
                left = rows + sum(r for _, r in requests[index + 1 :])
                with self._cond:
                    self.dropped_at_shutdown[signal] += left
                return

    def close(self, timeout_s: float) -> None:
        """Send what is queued for up to ``timeout_s``, then stop; what is still queued or
        in flight then is counted as dropped at shutdown (it is in the local files)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout_s)
        self._stop.set()
        self._thread.join(self.config.forward_timeout + 5)
        with self._cond:
            for signal, batch in self._queue:
                self.dropped_at_shutdown[signal] += batch.num_rows
            self._queue.clear()
            self._rows = self._bytes = 0
        left = sum(self.dropped_at_shutdown.values())
        if left:
            log.warning(
                "forwarding stopped with %d rows not sent (they are in the local files; "
                "otlp-arrow replay can send them)",
                left,
            )
        self.delivery.sender.close()

    def stats(self) -> ForwardStats:
        with self._cond:
            queued_rows, queued_bytes = self._rows, self._bytes
            dropped, at_shutdown = dict(self.dropped), dict(self.dropped_at_shutdown)
        return ForwardStats(
            **vars(self.delivery.snapshot()),
            endpoint=self.config.forward_endpoint,
            queued_rows=queued_rows,
            queued_bytes=queued_bytes,
            rows_dropped=dropped,
            rows_dropped_at_shutdown=at_shutdown,
        )

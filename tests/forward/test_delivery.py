"""One request's delivery: what the counters say is what was sent."""

from __future__ import annotations

import threading

from otlp_arrow.forward.breaker import CircuitBreaker
from otlp_arrow.forward.delivery import Delivery
from otlp_arrow.forward.senders import Outcome
from otlp_arrow.schema import Signal


class AlwaysUnavailable:
    """An endpoint that answers 503 to everything; stops the delivery after ``limit`` sends."""

    def __init__(self, stop: threading.Event, limit: int) -> None:
        self.stop, self.limit, self.sent = stop, limit, 0

    def send(self, signal: Signal, request: bytes) -> Outcome:
        self.sent += 1
        if self.sent == self.limit:
            self.stop.set()  # e.g. shutdown, while the retry would still be waiting
        return Outcome(ok=False, retryable=True, kind="HTTP 503", message="unavailable")

    def close(self) -> None:
        pass


def test_retries_count_the_attempts_that_were_sent_again() -> None:
    """Against an endpoint that always fails, 4 requests are 1 first attempt and 3 retries
    (the retry scheduled after the last one never happened: it was counted)."""
    stop = threading.Event()
    sender = AlwaysUnavailable(stop, limit=4)
    breaker = CircuitBreaker(failures=100, open_s=60.0, probes=1)
    delivery = Delivery(sender, breaker, retry_initial=0.001, retry_max=0.001)
    assert delivery.deliver("traces", b"x", 1, stop) is False
    assert sender.sent == 4 and delivery.stats.requests["HTTP 503"] == 4
    assert delivery.stats.retries == 3

"""Deliver one request with retries, back-off and the circuit breaker; count what happens.

Shared by the forwarder's thread and ``otlp-arrow replay``. A retryable failure is retried
(after ``backoff.delay``, or the server's ``Retry-After`` / ``RetryInfo`` when longer) until it
succeeds or the caller stops (for replay: or until the host name has not resolved for
``replay_resolve_timeout``, EndpointError); every failure counts towards the breaker, and
while the breaker is open nothing is sent. A permanent failure is not retried: the request is
given up, counted, and its cause logged once (per cause, not per request).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from otlp_arrow.config import Config
from otlp_arrow.errors import EndpointError
from otlp_arrow.forward import backoff
from otlp_arrow.forward.breaker import STATE_NUMBER, CircuitBreaker
from otlp_arrow.forward.senders import Outcome, Sender, make_sender
from otlp_arrow.schema import Signal

log = logging.getLogger("otlp_arrow.forward")


@dataclass
class DeliveryStats:
    """Live counters are ``Counter``s; :meth:`Delivery.snapshot` copies them into plain dicts
    (``dataclasses.asdict`` would rebuild a ``Counter`` from its items, counting the pairs)."""

    rows_sent: dict[Signal, int] = field(
        default_factory=Counter
    )  # per signal, accepted by the remote
    rows_rejected: dict[Signal, int] = field(default_factory=Counter)  # partial_success
    rows_failed: dict[Signal, int] = field(default_factory=Counter)  # permanent failure: given up
    requests: dict[str, int] = field(default_factory=Counter)  # per outcome: ok / kind of failure
    retries: int = 0
    breaker_state: str = ""  # filled in by snapshot()
    breaker_state_number: int = 0
    breaker_opened: int = 0


class Delivery:
    """Sends requests through ``sender``, guarded by one breaker; thread-safe counters."""

    def __init__(
        self,
        sender: Sender,
        breaker: CircuitBreaker,
        *,
        retry_initial: float,
        retry_max: float,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        resolve_timeout: float | None = None,
    ) -> None:
        self.sender = sender
        self.breaker = breaker
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.clock = clock
        self.rng = rng or random.Random()
        self.resolve_timeout = resolve_timeout  # None: retry an unresolvable name forever
        self.stats = DeliveryStats()
        self.lock = threading.Lock()
        self._logged: set[str] = set()

    def deliver(self, signal: Signal, request: bytes, rows: int, stop: threading.Event) -> bool:
        """Send ``request`` (``rows`` items) until it is accepted (True), permanently refused
        (False, counted as failed) or ``stop`` is set first (False, not counted: the caller
        decides what that means)."""
        attempt = 0
        unresolved_since: float | None = None
        while not stop.is_set():
            wait = self.breaker.wait(self.clock())
            if wait > 0:
                stop.wait(wait)
                continue
            if attempt:  # counted when sent again: a retry a stop cut short never happened
                with self.lock:
                    self.stats.retries += 1
            outcome = self.sender.send(signal, request)
            if outcome.ok:
                self._accepted(signal, rows, outcome)
                return True
            with self.lock:
                self.stats.requests[outcome.kind or "failed"] += 1
            if not outcome.retryable:
                self.breaker.success()  # the endpoint answers: this is about the request
                self._given_up(signal, rows, outcome)
                return False
            self.breaker.failure(self.clock())
            unresolved_since = self._check_resolvable(outcome, unresolved_since)
            delay = backoff.delay(
                attempt, self.retry_initial, self.retry_max, outcome.retry_after, self.rng
            )
            self._once(
                f"retry:{outcome.kind}",
                logging.WARNING,
                "forwarding %s failed (%s); retrying with back-off, first in %.1fs (logged "
                "once until it works again)",
                signal,
                outcome.message,
                delay,
            )
            attempt += 1
            stop.wait(delay)
        return False

    def _check_resolvable(self, outcome: Outcome, since: float | None) -> float | None:
        """Since when the host name has not resolved (None: it did); EndpointError once
        that is longer than ``resolve_timeout``."""
        if not outcome.unresolvable:
            return None
        now = self.clock()
        if since is None:
            return now
        if self.resolve_timeout is not None and now - since >= self.resolve_timeout:
            raise EndpointError(f"{outcome.message} (for {now - since:.0f} s); giving up")
        return since

    def _accepted(self, signal: Signal, rows: int, outcome: Outcome) -> None:
        self.breaker.success()
        with self.lock:
            self.stats.requests["ok"] += 1
            self.stats.rows_sent[signal] += rows - outcome.rejected
            self.stats.rows_rejected[signal] += outcome.rejected
        if outcome.rejected:
            self._once(
                f"partial:{signal}",
                logging.WARNING,
                "the endpoint rejected %d of %d %s items: %s (counted in "
                "otlp_arrow_forward_rows_rejected_total; logged once)",
                outcome.rejected,
                rows,
                signal,
                outcome.message or "no reason given",
            )
        with self.lock:
            outage = {key for key in self._logged if key.startswith("retry:")}
            self._logged -= outage
        if outage:
            log.info("forwarding %s works again", signal)

    def _given_up(self, signal: Signal, rows: int, outcome: Outcome) -> None:
        with self.lock:
            self.stats.rows_failed[signal] += rows
        self._once(
            f"permanent:{outcome.kind}",
            logging.ERROR,
            "forwarding %s refused, not retried: %s (further refusals of this kind are "
            "counted in otlp_arrow_forward_rows_failed_total, not logged)",
            signal,
            outcome.message,
        )

    def _once(self, key: str, level: int, message: str, *args: object) -> None:
        with self.lock:
            if key in self._logged:
                return
            self._logged.add(key)
        log.log(level, message, *args)

    def snapshot(self) -> DeliveryStats:
        """A copy of the counters, with the breaker's state as it is now."""
        with self.lock:
            return DeliveryStats(
                rows_sent=dict(self.stats.rows_sent),
                rows_rejected=dict(self.stats.rows_rejected),
                rows_failed=dict(self.stats.rows_failed),
                requests=dict(self.stats.requests),
                retries=self.stats.retries,
                breaker_state=self.breaker.state,
                breaker_state_number=STATE_NUMBER[self.breaker.state],
                breaker_opened=self.breaker.times_opened,
            )


def make_delivery(
    config: Config, sender: Sender | None = None, *, give_up: bool = False
) -> Delivery:
    """A delivery to ``config``'s endpoint with its retry and breaker settings; with
    ``give_up`` (replay), an endpoint whose name does not resolve for
    ``replay_resolve_timeout`` raises EndpointError."""
    return Delivery(
        sender or make_sender(config),
        CircuitBreaker(
            config.forward_breaker_failures,
            config.forward_breaker_open,
            config.forward_breaker_probes,
        ),
        retry_initial=config.forward_retry_initial,
        retry_max=config.forward_retry_max,
        rng=random.Random(),
        resolve_timeout=config.replay_resolve_timeout if give_up else None,
    )

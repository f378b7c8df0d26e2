"""A circuit breaker (pure: the caller passes the time).

closed --(``failures`` failures in a row)--> open --(``open_s`` later)--> half-open
half-open --(``probes`` successes in a row)--> closed;  half-open --(a failure)--> open
"""

from __future__ import annotations

from dataclasses import dataclass

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
#: The number each state has in /metrics (otlp_arrow_forward_breaker_state).
STATE_NUMBER = {CLOSED: 0, OPEN: 1, HALF_OPEN: 2}


@dataclass
class CircuitBreaker:
    failures: int
    open_s: float
    probes: int
    state: str = CLOSED
    failed_in_row: int = 0
    succeeded_probes: int = 0
    opened_at: float = 0.0
    times_opened: int = 0

    def wait(self, now: float) -> float:
        """Seconds to wait before the next request may go (0: go now). An open breaker whose
        time is up turns half-open here."""
        if self.state == OPEN:
            remaining = self.opened_at + self.open_s - now
            if remaining > 0:
                return remaining
            self.state, self.succeeded_probes = HALF_OPEN, 0
        return 0.0

    def success(self) -> None:
        self.failed_in_row = 0
        if self.state == HALF_OPEN:
            self.succeeded_probes += 1
            if self.succeeded_probes >= self.probes:
                self.state = CLOSED

    def failure(self, now: float) -> None:
        self.failed_in_row += 1
        if self.state == HALF_OPEN or (
            self.state == CLOSED and self.failed_in_row >= self.failures
        ):
            self.state, self.opened_at = OPEN, now
            self.times_opened += 1

"""What both receivers do with a converted request: hand it over, count it, answer it.

Counters per signal and protocol (requests, items received / accepted / rejected by reason,
bytes received) feed ``Service.stats()`` and ``GET /metrics``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from otlp_arrow.convert import Converted
from otlp_arrow.errors import BufferFullError, ClosedError, StorageError
from otlp_arrow.schema import Signal


@dataclass
class ReceiverCounters:
    """What the receivers got for one (signal, protocol)."""

    requests: int = 0
    malformed_requests: int = 0
    unauthenticated_requests: int = 0  # refused: no valid bearer token
    items_received: int = 0  # spans, data points or log records
    items_accepted: int = 0
    bytes_received: int = 0  # as sent (compressed or not)
    items_rejected: dict[str, int] = field(default_factory=dict)  # reason -> items


#: (signal, protocol) -> its counters
Counters = dict[tuple[Signal, str], ReceiverCounters]


class ReceiverStats:
    """Thread-safe counters of what the receivers got."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: Counters = {}

    def _of(self, signal: Signal, protocol: str) -> ReceiverCounters:
        counters = self._counters.get((signal, protocol))
        if counters is None:
            counters = self._counters[(signal, protocol)] = ReceiverCounters()
        return counters

    def request(self, signal: Signal, protocol: str, nbytes: int) -> None:
        with self._lock:
            counters = self._of(signal, protocol)
            counters.requests += 1
            counters.bytes_received += nbytes

    def malformed(self, signal: Signal, protocol: str) -> None:
        with self._lock:
            self._of(signal, protocol).malformed_requests += 1

    def unauthenticated(self, signal: Signal, protocol: str) -> None:
        with self._lock:
            self._of(signal, protocol).unauthenticated_requests += 1

    def received(self, signal: Signal, protocol: str, items: int) -> None:
        with self._lock:
            self._of(signal, protocol).items_received += items

    def accepted(self, signal: Signal, protocol: str, items: int) -> None:
        with self._lock:
            self._of(signal, protocol).items_accepted += items

    def reject(self, signal: Signal, protocol: str, reason: str, items: int) -> None:
        with self._lock:
            rejected = self._of(signal, protocol).items_rejected
            rejected[reason] = rejected.get(reason, 0) + items

    def snapshot(self) -> Counters:
        with self._lock:
            return {
                key: dataclasses.replace(c, items_rejected=dict(c.items_rejected))
                for key, c in self._counters.items()
            }


def hand_over(
    converted: Converted,
    accept: Callable[[Converted], None],
    stats: ReceiverStats,
    protocol: str,
    response: Any,
    rejected_field: str,
) -> Any:
    """Accept ``converted`` and fill ``response`` (an Export...ServiceResponse) with its
    partial success. BufferFullError / ClosedError / StorageError (not written, with a durable
    ``durability``) propagate after being counted. May block until the rows are written."""
    signal = converted.signal
    rows = converted.batch.num_rows
    stats.received(signal, protocol, rows + converted.rejected)
    if converted.rejected:
        stats.reject(signal, protocol, "invalid", converted.rejected)
    try:
        accept(converted)
    except BufferFullError:
        stats.reject(signal, protocol, "buffer_full", rows)
        raise
    except ClosedError:
        stats.reject(signal, protocol, "shutting_down", rows)
        raise
    except StorageError:  # durable modes: not written, nothing of it kept
        stats.reject(signal, protocol, "not_written", rows)
        raise
    stats.accepted(signal, protocol, rows)
    if converted.rejected:
        partial = response.partial_success
        setattr(partial, rejected_field, converted.rejected)
        partial.error_message = converted.error or ""
    return response

"""What both receivers do with a converted request: hand it over, count it, answer it.

Counters per signal and protocol (requests, items received / accepted / rejected by reason,
bytes received) feed ``Service.stats()`` and ``GET /metrics``.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from otlp_arrow.convert import Converted
from otlp_arrow.errors import BufferFullError, ClosedError

#: (signal, protocol) -> counter name -> value; rejected items are "rejected:<reason>".
Counters = dict[tuple[str, str], dict[str, int]]


class ReceiverStats:
    """Thread-safe counters of what the receivers got."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: defaultdict[tuple[str, str], defaultdict[str, int]] = defaultdict(
            lambda: defaultdict(int)
        )

    def add(self, signal: str, protocol: str, **values: int) -> None:
        with self._lock:
            counters = self._counters[(signal, protocol)]
            for name, value in values.items():
                counters[name] += value

    def reject(self, signal: str, protocol: str, reason: str, items: int) -> None:
        self.add(signal, protocol, **{f"rejected:{reason}": items})

    def snapshot(self) -> Counters:
        with self._lock:
            return {key: dict(values) for key, values in self._counters.items()}


def hand_over(
    converted: Converted,
    accept: Callable[[Converted], None],
    stats: ReceiverStats,
    protocol: str,
    response: Any,
    rejected_field: str,
) -> Any:
    """Accept ``converted`` and fill ``response`` (an Export...ServiceResponse) with its
    partial success. BufferFullError / ClosedError propagate after being counted."""
    signal = converted.signal
    rows = converted.batch.num_rows
    stats.add(signal, protocol, items_received=rows + converted.rejected)
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
    stats.add(signal, protocol, items_accepted=rows)
    if converted.rejected:
        partial = response.partial_success
        setattr(partial, rejected_field, converted.rejected)
        partial.error_message = converted.error or ""
    return response

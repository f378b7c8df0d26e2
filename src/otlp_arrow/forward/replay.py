"""``otlp-arrow replay``: send stored data to an OTLP endpoint (backfill after an outage, or
move data between machines), with the forwarder's protocols, authentication, retries and
breaker. Nothing is dropped: each request is retried until it is accepted, refused for good
(counted), or the user stops the replay; an endpoint whose host name does not resolve for
``replay_resolve_timeout`` ends the replay (``ReplaySummary.abandoned`` says why).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

import pyarrow as pa

from otlp_arrow.config import Config, parse_duration
from otlp_arrow.errors import ConfigError, EndpointError
from otlp_arrow.forward.batches import requests_of
from otlp_arrow.forward.delivery import make_delivery
from otlp_arrow.query import connect, time_filter
from otlp_arrow.schema import Signal


@dataclass
class ReplaySummary:
    rows: dict[Signal, int] = field(default_factory=dict)  # rows to send, per signal
    sent: dict[Signal, int] = field(default_factory=dict)
    rejected: dict[Signal, int] = field(default_factory=dict)
    failed: dict[Signal, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    abandoned: str = ""  # why the replay gave up on the endpoint (empty: it did not)

    @property
    def complete(self) -> bool:
        return not self.interrupted and not self.abandoned and not any(self.failed.values())


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise) or a duration ago with its unit (``90m``,
    ``2d``); a bare number is refused: ``20261203`` is a date, ``90`` could be anything."""
    now = now or datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if text.strip()[-1:].isalpha():
        try:
            return now - timedelta(seconds=parse_duration(text))
        except ValueError:
            pass
        except OverflowError:
            raise ConfigError(f"{text!r} is too far back for a calendar date") from None
    raise ConfigError(
        f"{text!r} is not a time: use ISO 8601 (2026-11-25T18:00) or a duration ago with a unit "
        "(90s, 90m, 2d)"
    )


def replay(
    config: Config,
    signals: tuple[Signal, ...],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: TextIO | None = None,
    stop: threading.Event | None = None,
) -> ReplaySummary:
    """Send ``signals`` stored under ``config.output_dir`` (times in [since, until)) to
    ``config.forward_endpoint``; progress lines go to ``progress``."""
    stop = stop or threading.Event()
    store = connect(config.output_dir, config.spool_dir)
    delivery = make_delivery(config, give_up=True)
    summary = ReplaySummary()
    started = time.monotonic()
    plans = []
    for signal in signals:
        condition = time_filter(signal, since, until)
        dataset = store.dataset(signal)
        summary.rows[signal] = dataset.count_rows(filter=condition)
        plans.append((signal, dataset, condition))
    meter = _Progress(progress, sum(summary.rows.values()))
    try:
        for signal, dataset, condition in plans:
            for batch in _batches(dataset.to_batches(filter=condition), config.forward_batch_rows):
                for request, rows in requests_of(signal, batch, config.forward_batch_rows):
                    if not delivery.deliver(signal, request, rows, stop) and stop.is_set():
                        summary.interrupted = True
                        return summary
                    meter.advance(signal, rows)
    except KeyboardInterrupt:
        stop.set()
        summary.interrupted = True
    except EndpointError as exc:
        summary.abandoned = str(exc)
    finally:
        stats = delivery.stats
        summary.sent = dict(stats.rows_sent)
        summary.rejected = dict(stats.rows_rejected)
        summary.failed = dict(stats.rows_failed)
        summary.requests = sum(stats.requests.values())
        summary.retries = stats.retries
        summary.seconds = time.monotonic() - started
        meter.done()
        delivery.sender.close()
    return summary


def _batches(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Regroup a scan's batches into tables of about ``rows`` rows (full requests)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


class _Progress:
    """A progress bar on a terminal (redrawn in place), else a line every 10%."""

    WIDTH = 30

    def __init__(self, out: TextIO | None, total: int) -> None:
        self.out, self.total, self.done_rows = out, max(total, 1), 0
        self.tty = bool(out is not None and out.isatty())
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.last_tenth = -1

    def advance(self, signal: Signal, rows: int) -> None:
        self.done_rows += rows
        if self.out is None:
            return
        fraction = self.done_rows / self.total
        now = time.monotonic()
        if self.tty and now - self.last_draw >= 0.2:
            self.last_draw = now
            self.out.write("\r" + self._line(signal, fraction, now))
            self.out.flush()
        elif not self.tty and int(fraction * 10) > self.last_tenth:
            self.last_tenth = int(fraction * 10)
            self.out.write(self._line(signal, fraction, now) + "\n")
            self.out.flush()

    def _line(self, signal: Signal, fraction: float, now: float) -> str:
        filled = int(self.WIDTH * fraction)
        rate = self.done_rows / max(now - self.started, 1e-9)
        return (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:4.0%} "
            f"{self.done_rows:,}/{self.total:,} rows ({signal}) {rate:,.0f} rows/s"
        )

    def done(self) -> None:
        if self.out is not None and self.tty:
            self.out.write("\n")
            self.out.flush()


def print_summary(summary: ReplaySummary, endpoint: str, out: TextIO = sys.stdout) -> None:
    out.write(f"replay to {endpoint}: {summary.seconds:.1f} s, {summary.requests:,} requests, ")
    out.write(f"{summary.retries:,} retries\n")
    out.write(f"{'signal':<8} {'stored':>10} {'sent':>10} {'rejected':>9} {'failed':>8}\n")
    for signal, rows in summary.rows.items():
        out.write(
            f"{signal:<8} {rows:>10,} {summary.sent.get(signal, 0):>10,} "
            f"{summary.rejected.get(signal, 0):>9,} {summary.failed.get(signal, 0):>8,}\n"
        )
    if summary.interrupted or summary.abandoned:
        out.write("stopped before the end: run the same command again to send everything\n")

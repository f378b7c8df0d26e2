"""Forwarding: what is stored locally is also sent to a remote OTLP endpoint, read back from the
stored files with a persisted cursor (``forward.cursor``) — no data passes through memory.

One thread per destination and directory (the holder of the cursor's lease; another process
forwarding the same directory to the same destination waits and retries the lease every
:data:`LEASE_RETRY_S`). It goes through each signal's files in name order — live streams batch
by batch as they grow (``storage.tail``), sealed Parquet files from the same row on — cuts the
rows after the cursor into requests of ``forward_batch_rows``, delivers each with retries,
back-off and the breaker (``delivery.Delivery``), and saves the cursor after each request that
was accepted or refused for good. The writer's ``on_written`` only wakes it up; otherwise it
looks again every :data:`POLL_S`.

With no cursor yet, forwarding starts with the data written from then on: rows already in the
directory are recorded as sent (``otlp-arrow replay`` sends old data). Retention asks the
forwarder (:meth:`Forwarder.unforwarded`, :meth:`Forwarder.dropping`) before deleting files.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from otlp_arrow.config import Config
from otlp_arrow.errors import StorageError
from otlp_arrow.forward import cursor as cursors
from otlp_arrow.forward.batches import numbered, requests_after, requests_of
from otlp_arrow.forward.cursor import Cursor, Lease, Position
from otlp_arrow.forward.delivery import DeliveryStats, make_delivery
from otlp_arrow.forward.senders import Sender
from otlp_arrow.schema import SIGNALS, Signal
from otlp_arrow.storage import locks, reader
from otlp_arrow.storage.fs import FileInfo
from otlp_arrow.storage.layout import SEALED_SUFFIX
from otlp_arrow.storage.tail import RowCounter, StreamTail, parquet_batches

log = logging.getLogger("otlp_arrow.forward")

#: Seconds between looks at the files when nothing woke the forwarder up.
POLL_S = 0.5
#: Seconds between attempts to take the lease another process holds.
LEASE_RETRY_S = 1.0


@dataclass
class ForwardStats(DeliveryStats):
    """The delivery's counters, the lag, and the rows retention deleted before they went."""

    endpoint: str = ""
    lease_held: int = 0  # 1 while this process forwards the directory to the endpoint
    lag_rows: dict[Signal, int] = field(default_factory=dict)  # stored, not forwarded yet
    lag_seconds: dict[Signal, float] = field(default_factory=dict)  # age of the oldest of them
    rows_dropped: dict[Signal, int] = field(default_factory=dict)  # deleted by retention (size)


class Forwarder:
    """Forwards what is stored under ``config.output_dir`` to ``config.forward_endpoint``."""

    def __init__(self, config: Config, sender: Sender | None = None) -> None:
        self.config = config
        self.output_dir = config.local_dir
        self.signals = tuple(s for s in SIGNALS if s in config.forward_signals)
        self.delivery = make_delivery(config, sender)
        name = cursors.destination_name(config.forward_endpoint, config.forward_protocol)
        self.destination = name
        self.cursor_path = self.output_dir / cursors.DIRECTORY / f"{name}.json"
        self.lease = Lease(self.output_dir / cursors.DIRECTORY / f"{name}.lease")
        self._lock = threading.Lock()  # the cursor, the counters, the lease's state
        self._cursor: Cursor | None = None
        self._in_flight: dict[str, int] = {}  # stem -> rows of it sent once the request is
        self._tails: dict[str, StreamTail] = {}
        self._paths: dict[str, Path] = {}  # stem -> where it was last seen
        self._counter = RowCounter()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._stop = threading.Event()
        self.dropped: Counter[Signal] = Counter()
        self._warned_dropping = False
        self._logged: set[str] = set()
        # before the writer exists: a new cursor starts exactly at what is stored now
        self._start()
        self._thread = threading.Thread(target=self._run, name="otlp-arrow-forward", daemon=True)
        self._thread.start()
        log.info(
            "forwarding %s to %s (%s)",
            ", ".join(self.signals),
            config.forward_endpoint,
            config.forward_protocol,
        )

    def nudge(self, signal: Signal, batch: pa.RecordBatch) -> None:
        """The writer wrote ``batch``: look at the files soon (never blocks)."""
        if signal in self.signals:
            self._wake.set()

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._cursor is None:
                    if self._closing.wait(LEASE_RETRY_S):  # stopping: no lease to take now
                        return
                    self._start()
                    continue
                try:
                    progressed = self._pass()
                except StorageError as exc:
                    self._once("pass", "forwarding cannot read the stored files: %s", exc)
                    progressed = False
                if not progressed:
                    if self._closing.is_set():
                        return
                    self._wake.wait(POLL_S)
                    self._wake.clear()
        except Exception:  # pragma: no cover - a defect; forwarding stops, the files stay
            log.exception("unexpected error while forwarding; forwarding stopped")
        finally:
            for tail in self._tails.values():
                tail.close()
            self._tails.clear()

    def _start(self) -> bool:
        """Take the lease and load the cursor (or start one at the data stored now)."""
        try:
            if not self.lease.take():
                self._once(
                    "lease",
                    "%s: another process forwards this directory to %s; waiting for its lease",
                    self.lease.path,
                    self.config.forward_endpoint,
                    level=logging.INFO,
                )
                return False
            loaded = cursors.load(self.cursor_path)
            fresh = loaded is None
            cursor = loaded or cursors.snapshot(self.destination, self.output_dir, self._counter)
            if fresh:
                cursors.save(self.cursor_path, cursor)
        except StorageError as exc:
            self.lease.release()
            self._once("start", "forwarding cannot start: %s (retrying)", exc)
            return False
        with self._lock:
            self._cursor = cursor
        self._logged.discard("lease")
        log.info("forwarding from the cursor %s%s", self.cursor_path, " (new)" if fresh else "")
        return True

    def _pass(self) -> bool:
        """Send what is new in every signal's files; True if anything was sent."""
        assert self._cursor is not None
        progressed = False
        listed: set[str] = set()
        for signal in self.signals:
            files = reader.signal_files(self.output_dir, signal)
            listed.update(info.path.stem for info in files)
            position = self._cursor.positions[signal]
            for info in files:
                stem = info.path.stem
                self._paths[stem] = info.path
                with self._lock:
                    done = position.is_done(stem)
                if not done:
                    progressed |= self._forward_or_skip(signal, position, stem, info.path)
                if self._stop.is_set():
                    return progressed
            self._compact(position, {info.path.stem for info in files})
        self._close_tails(listed)
        if not progressed:
            with self._lock:
                self._warned_dropping = False  # caught up: a new spell of drops is logged
        return progressed

    def _close_tails(self, listed: set[str]) -> None:
        """Close the streams that are done or gone (deleted by retention: an open handle
        would keep its disk space), and forget where gone files were."""
        assert self._cursor is not None
        for stem in list(self._tails):
            with self._lock:
                done = any(p.is_done(stem) for p in self._cursor.positions.values())
            if done or stem not in listed:
                self._tails.pop(stem).close()
        for stem in [s for s in self._paths if s not in listed]:
            del self._paths[stem]

    def _forward_or_skip(self, signal: Signal, position: Position, stem: str, path: Path) -> bool:
        try:
            return self._forward_file(signal, position, stem, path)
        except StorageError as exc:  # a damaged file: it must not hold up the others
            log.error("forwarding skips the rest of %s: %s", path, exc)
            if (tail := self._tails.pop(stem, None)) is not None:
                tail.close()
            with self._lock:
                position.finish(stem)
            self._save()
            return False

    def _forward_file(self, signal: Signal, position: Position, stem: str, path: Path) -> bool:
        with self._lock:
            start = position.rows_sent(stem)
        sent_any = False
        if path.suffix == SEALED_SUFFIX:
            if (tail := self._tails.pop(stem, None)) is not None:
                tail.close()
            closed, batches = True, numbered(parquet_batches(path, start), start)
        else:
            tail = self._tails.get(stem) or self._tails.setdefault(stem, StreamTail(path))
            before = tail.rows_read
            new = tail.read()
            closed = tail.ended
            # no end-of-stream marker: is its writer gone (killed)? The lock is only probed
            # then, so sealers and retention claiming closed files never meet the probe
            if not closed and not locks.is_held(path):
                new += tail.read()  # nothing more can come now
                closed = True
            batches = numbered(iter(new), before)
        for first, table in requests_after(batches, start, self.config.forward_batch_rows):
            for request, rows in requests_of(signal, table, self.config.forward_batch_rows):
                with self._lock:
                    if position.is_done(stem):  # retention by size deleted it meanwhile
                        return sent_any
                    self._in_flight[stem] = first + rows
                delivered = self.delivery.deliver(signal, request, rows, self._stop)
                if not delivered and self._stop.is_set():
                    with self._lock:
                        self._in_flight.pop(stem, None)
                    return sent_any  # not sent: the cursor stays before it
                first += rows
                sent_any = True
                with self._lock:  # at once: retention never sees these rows as unsent
                    position.advance(stem, first)
                    self._in_flight.pop(stem, None)
                self._save()
        if closed:
            if (tail := self._tails.pop(stem, None)) is not None:
                tail.close()
            with self._lock:
                position.finish(stem)
            self._save()
        return sent_any

    def _compact(self, position: Position, listed: set[str]) -> None:
        with self._lock:
            known = {*position.sent, *position.done} - listed
        present = listed | {stem for stem in known if self._still_there(stem)}
        with self._lock:
            changed = position.compact(present, datetime.now(UTC))
        for stem in known - present:
            self._paths.pop(stem, None)
        if changed:
            self._save()

    def _still_there(self, stem: str) -> bool:
        """A file missing from a listing, checked again (a stream being sealed: its Parquet
        copy exists before the stream is deleted, so look for the stream first)."""
        path = self._paths.get(stem)
        if path is None:
            return False
        return path.with_suffix(".arrows").exists() or path.with_suffix(SEALED_SUFFIX).exists()

    def _save(self) -> None:
        with self._lock:
            if self._cursor is None:
                return
            try:
                cursors.save(self.cursor_path, self._cursor)
            except StorageError as exc:
                self._once("save", "%s (forwarding goes on; a restart may send rows again)", exc)

    def _once(self, key: str, message: str, *args: object, level: int = logging.WARNING) -> None:
        if key not in self._logged:
            self._logged.add(key)
            log.log(level, message, *args)

    # -- retention's guard -----------------------------------------------------------------

    def _view(self) -> Cursor | None:
        """The cursor as this process knows it: its own while it holds the lease, else the
        lease holder's last saved one (None: nothing to protect yet)."""
        with self._lock:
            if self._cursor is not None:
                return Cursor(
                    self.destination, {s: p.copy() for s, p in self._cursor.positions.items()}
                )
        try:
            return cursors.load(self.cursor_path)
        except StorageError:
            return None

    def unforwarded(self, signal: str, files: Sequence[FileInfo]) -> set[Path]:
        """Retention's question: which of ``files`` are not fully forwarded yet."""
        view, known = self._view(), _signal(signal)
        if view is None or known not in self.signals or known is None:
            return set()
        position = view.positions[known]
        return {f.path for f in files if not position.is_done(f.path.stem)}

    def dropping(self, signal: str, files: Sequence[FileInfo]) -> None:
        """Retention by size deletes ``files`` before they were forwarded: count their unsent
        rows, warn once per spell, and move the cursor past them."""
        known = _signal(signal)
        if known is None:
            return
        lost = 0
        with self._lock:
            own = self._cursor is not None
        saved = None if own else self._view()  # the lease holder's saved cursor, if any
        for info in files:
            stem = info.path.stem
            try:
                rows, _ = self._counter.count(info.path)
            except StorageError:
                rows = 0
            with self._lock:  # this process's own cursor is read live: what was sent is in it
                position = self._cursor.positions[known] if self._cursor else None
                source = position
                if source is None and saved is not None:
                    source = saved.positions[known]
                if source is None:
                    sent = 0
                else:  # fully sent since retention listed it: nothing of it is lost
                    sent = rows if source.is_done(stem) else source.rows_sent(stem)
                lost += max(0, rows - max(sent, self._in_flight.get(stem, 0)))
                if position is not None:
                    position.advance(stem, rows)
                    position.finish(stem)
        with self._lock:
            self.dropped[known] += lost
            warn = lost > 0 and not self._warned_dropping
            self._warned_dropping = self._warned_dropping or lost > 0
        self._save()
        if warn:
            log.warning(
                "retention by size deletes %d %s rows not forwarded yet to %s (the endpoint is "
                "down or slower than the data; counted in otlp_arrow_forward_rows_dropped_total,"
                " logged once until forwarding catches up)",
                lost,
                signal,
                self.config.forward_endpoint,
            )

    # -- stopping and numbers --------------------------------------------------------------

    def close(self, timeout_s: float) -> None:
        """Send what is stored for up to ``timeout_s``, then stop and save the cursor; what
        is not sent yet is sent by the next start (nothing is lost at shutdown)."""
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self._stop.set()
        self._wake.set()
        self._thread.join(self.config.forward_timeout + 5)
        self._save()
        with self._lock:
            self._cursor = None
            self.lease.release()
        self.delivery.sender.close()

    def stats(self) -> ForwardStats:
        try:
            view = self._view()
            lag_rows, lag_seconds = (
                cursors.lag(view, self.output_dir, self.signals, self._counter)
                if view
                else ({}, {})
            )
        except StorageError:
            lag_rows, lag_seconds = {}, {}
        with self._lock:
            dropped = dict(self.dropped)
            held = int(self.lease.held)
        delivery = self.delivery.snapshot()
        for counts in (delivery.rows_sent, delivery.rows_rejected, delivery.rows_failed, dropped):
            for signal in self.signals:  # every forwarded signal has a number, 0 until counted
                counts.setdefault(signal, 0)
        return ForwardStats(
            **vars(delivery),
            endpoint=self.config.forward_endpoint,
            lease_held=held,
            lag_rows=lag_rows,
            lag_seconds=lag_seconds,
            rows_dropped=dropped,
        )


def _signal(name: str) -> Signal | None:
    return next((s for s in SIGNALS if s == name), None)

"""The forwarder's cursor: how far each destination has got in the stored files, persisted
beside them, and the lease that makes one process per directory forward to a destination.

``<output_dir>/.forward/<destination>.json`` (hidden: readers and retention never look at it)::

    {"version": 1, "destination": "127.0.0.1-4318-http-protobuf-3f9a0c1b2d",
     "signals": {"traces": {"watermark": "traces-20261201T090000Z-4242-000003-a1b2c3d4",
                            "sent": {"traces-20261201T091000Z-4242-000004-e5f6a7b8": 1500},
                            "done": ["traces-20261201T091000Z-4343-000001-0a1b2c3d"]}}}

Files are named by their stem (no suffix), so a stream and its sealed Parquet copy — the
same rows in the same order — are one file. Every file whose stem sorts at or below the
``watermark`` is done; above it, ``sent`` says how many rows of a file were sent (or given up
after a permanent refusal), ``done`` which files are closed and fully sent. Several writers
share a directory and their names interleave, so the watermark only moves over files that are
done (never past one still being written), and only over names older than
:data:`SETTLE_S`: a writer may still create a file whose name sorts a little lower.

Written atomically (temporary file, fsync, rename) after each acknowledged request. The lease
is a lock (``storage.locks``) on ``<destination>.lease`` — not on the JSON file itself, which
every save replaces — released by the operating system when the process dies.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from otlp_arrow.errors import StorageError
from otlp_arrow.schema import SIGNALS, Signal
from otlp_arrow.storage import fs, locks, reader
from otlp_arrow.storage.tail import RowCounter

VERSION = 1
DIRECTORY = ".forward"
#: Seconds a name's time must be in the past before the watermark may move over it.
SETTLE_S = 60.0

_NAME_TIME = re.compile(r"-(\d{8}T\d{6})Z-")


def destination_name(endpoint: str, protocol: str) -> str:
    """A file name for a destination: readable host, port, path and protocol (never user
    information), and a digest of the whole endpoint and protocol so that names never clash."""
    parts = urlsplit(endpoint)
    readable = "-".join(
        str(p) for p in (parts.hostname or "endpoint", parts.port or "", parts.path, protocol) if p
    )
    safe = re.sub(r"[^A-Za-z0-9.]+", "-", readable).strip("-")[:80]
    digest = hashlib.sha256(f"{protocol} {endpoint}".encode()).hexdigest()[:10]
    return f"{safe}-{digest}"


def name_time(stem: str) -> datetime | None:
    """The UTC time in a data file's name (when it was opened), or None."""
    match = _NAME_TIME.search(stem)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


@dataclass
class Position:
    """One signal's place in its files."""

    watermark: str = ""
    sent: dict[str, int] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)

    def is_done(self, stem: str) -> bool:
        return stem <= self.watermark or stem in self.done

    def rows_sent(self, stem: str) -> int:
        return self.sent.get(stem, 0)

    def advance(self, stem: str, rows: int) -> None:
        """``rows`` of the file ``stem`` are sent (never moves back)."""
        if stem > self.watermark:
            self.sent[stem] = max(self.sent.get(stem, 0), rows)

    def finish(self, stem: str) -> None:
        """The file ``stem`` is closed and fully sent."""
        if stem > self.watermark:
            self.done.add(stem)

    def compact(self, present: set[str], now: datetime) -> bool:
        """Move the watermark over the done files in name order (stopping at the first one in
        ``present`` that is not done, or named less than SETTLE_S ago); files no longer
        ``present`` count as done (deleted). True if anything changed."""
        settled = now - timedelta(seconds=SETTLE_S)
        changed = False
        for stem in sorted({*present, *self.sent, *self.done}):
            if stem <= self.watermark:
                continue
            opened = name_time(stem)
            if (stem in present and stem not in self.done) or opened is None or opened > settled:
                break
            self.watermark, changed = stem, True
        if changed:
            self.sent = {s: n for s, n in self.sent.items() if s > self.watermark}
            self.done = {s for s in self.done if s > self.watermark}
        return changed

    def copy(self) -> Position:
        return Position(self.watermark, dict(self.sent), set(self.done))


@dataclass
class Cursor:
    destination: str
    positions: dict[Signal, Position] = field(
        default_factory=lambda: {s: Position() for s in SIGNALS}
    )

    def to_bytes(self) -> bytes:
        data = {
            "version": VERSION,
            "destination": self.destination,
            "signals": {
                signal: {
                    "watermark": p.watermark,
                    "sent": dict(sorted(p.sent.items())),
                    "done": sorted(p.done),
                }
                for signal, p in self.positions.items()
            },
        }
        return (json.dumps(data, indent=1) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, origin: Path) -> Cursor:
        try:
            parsed: Any = json.loads(data)
            if parsed.get("version") != VERSION:
                raise ValueError(f"version {parsed.get('version')!r}, expected {VERSION}")
            cursor = cls(str(parsed["destination"]))
            for signal, item in parsed["signals"].items():
                if signal in cursor.positions:
                    cursor.positions[signal] = Position(
                        str(item["watermark"]),
                        {str(k): int(v) for k, v in item["sent"].items()},
                        {str(s) for s in item["done"]},
                    )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StorageError(f"the forward cursor {origin} is not valid: {exc}", origin) from exc
        return cursor


def load(path: Path) -> Cursor | None:
    """The cursor saved at ``path``, or None if there is none yet."""
    source = fs.open_read(path)
    if source is None:
        return None
    with source:
        try:
            data = source.read()
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {fs.describe(exc)}", path) from exc
    return Cursor.from_bytes(data, path)


def save(path: Path, cursor: Cursor) -> None:
    fs.write_atomic(path, cursor.to_bytes())


class Lease:
    """The right to forward to one destination from one directory (non-blocking)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def take(self) -> bool:
        """Hold the lease if no live process does; True if held now."""
        if self._handle is None:
            handle = fs.open_shared(self.path)
            if locks.try_hold(handle):
                self._handle = handle
            else:
                handle.close()
        return self._handle is not None

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def snapshot(destination: str, output_dir: Path, counter: RowCounter) -> Cursor:
    """A new cursor at the data stored now: every row in ``output_dir`` counts as sent
    (forwarding what is written from now on; ``otlp-arrow replay`` sends older data)."""
    cursor = Cursor(destination)
    for signal in SIGNALS:
        position = cursor.positions[signal]
        files = reader.signal_files(output_dir, signal)
        for info in files:
            rows, ended = counter.count(info.path)
            position.advance(info.path.stem, rows)
            if ended or not locks.is_held(info.path):
                position.finish(info.path.stem)
        position.compact({f.path.stem for f in files}, datetime.now(UTC))
    return cursor


def lag(
    cursor: Cursor, output_dir: Path, signals: Sequence[Signal], counter: RowCounter
) -> tuple[dict[Signal, int], dict[Signal, float]]:
    """Per signal: rows stored but not sent yet, and seconds since the oldest file holding
    some of them was opened (its name's time: an upper bound of the oldest such row's age,
    by at most ``rotate_age``)."""
    rows: dict[Signal, int] = {}
    seconds: dict[Signal, float] = {}
    now = datetime.now(UTC)
    seen: set[Path] = set()
    for signal in signals:
        position = cursor.positions[signal]
        behind, oldest = 0, None
        for info in reader.signal_files(output_dir, signal):
            seen.add(info.path)
            stem = info.path.stem
            if position.is_done(stem):
                continue
            try:
                stored, _ = counter.count(info.path)
            except StorageError:  # a damaged file: the forwarder says so
                continue
            unsent = stored - position.rows_sent(stem)
            if unsent > 0:
                behind += unsent
                opened = name_time(stem) or datetime.fromtimestamp(info.mtime, UTC)
                oldest = opened if oldest is None else min(oldest, opened)
        rows[signal] = behind
        seconds[signal] = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
    counter.forget_others(seen)
    return rows, seconds

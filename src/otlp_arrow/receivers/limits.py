"""What one client may hold: connections, time, and bytes in flight.

- :func:`raise_fd_limit` lifts the soft ``RLIMIT_NOFILE`` to the hard one (where the platform
  has ``resource``) and :func:`connection_cap` keeps every listener's connection cap below it,
  so a flood of connections is refused one by one instead of making ``accept()`` fail.
- :class:`InflightBytes` is the admission limit shared by every request of both receivers:
  a request's bytes (as received, decompressed, and its conversion, estimated as
  :data:`CONVERSION_FACTOR` times the decoded body) are reserved before they are held; a
  request that does not fit is refused (429 / ``RESOURCE_EXHAUSTED``) and nothing is held.
- :class:`OncePerSpell` lets a repeated log line through once per spell (accept errors).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from dataclasses import dataclass, field

from otlp_arrow.receivers.auth import Authenticator

#: memory a decoded request costs while it is parsed and converted, per byte of its body
#: (the protobuf message and the Arrow batch; measured: about 2.5 on sample data)
CONVERSION_FACTOR = 3
#: descriptors kept for everything but connections: the files, the spool, logs, pipes
FD_RESERVE = 128

log = logging.getLogger(__name__)


def raise_fd_limit() -> int | None:
    """Raise the soft limit on open files to the hard one; the soft limit now (None where
    the platform has no ``resource`` module, as on Windows)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (OSError, ValueError):  # pragma: no cover - a sandbox may refuse
            pass
    return None if soft == resource.RLIM_INFINITY else soft


def connection_cap(requested: int, listeners: int, fd_limit: int | None) -> int:
    """``requested`` connections per listener, lowered so ``listeners`` of them and the
    :data:`FD_RESERVE` fit in ``fd_limit`` descriptors."""
    if fd_limit is None or listeners <= 0:
        return requested
    return max(1, min(requested, (fd_limit - FD_RESERVE) // listeners))


class InflightBytes:
    """A thread-safe budget of bytes held by requests in flight; ``limit`` 0 is no limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.peak = 0
        self.refused = 0
        self._lock = threading.Lock()

    def acquire(self, nbytes: int) -> bool:
        """Reserve ``nbytes``: False (and nothing reserved) if they do not fit. A request
        alone larger than the limit is let through when nothing else is held, so a limit
        below ``max_receive_bytes`` cannot refuse a request for ever."""
        with self._lock:
            if self.limit and self.held + nbytes > self.limit and self.held > 0:
                self.refused += 1
                return False
            self.held += nbytes
            self.peak = max(self.peak, self.held)
            return True

    def release(self, nbytes: int) -> None:
        with self._lock:
            self.held = max(0, self.held - nbytes)


@dataclass(frozen=True)
class Limits:
    """What a receiver allows each client (the settings of the same names), its TLS and
    its authentication."""

    max_connections: int = 512
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 5.0
    inflight: InflightBytes = field(default_factory=lambda: InflightBytes(0))
    ssl_context: ssl.SSLContext | None = None
    auth: Authenticator | None = None  # bearer tokens; None: no authentication
    reuse_port: bool = False  # SO_REUSEPORT: share the port with other processes (--workers)


class OncePerSpell(logging.Filter):
    """Passes a record whose message starts with one of ``prefixes`` once per ``spell_s``
    seconds (counting what it held back); other records pass."""

    def __init__(self, prefixes: tuple[str, ...], spell_s: float = 60.0) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.spell_s = spell_s
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        prefix = next((p for p in self.prefixes if message.startswith(p)), None)
        if prefix is None:
            return True
        now = time.monotonic()
        with self._lock:
            last = self._last.get(prefix)
            if last is not None and now - last < self.spell_s:
                self._held[prefix] = self._held.get(prefix, 0) + 1
                return False
            self._last[prefix] = now
            held = self._held.pop(prefix, 0)
        record.exc_info = None  # one line, not a traceback per accept()
        record.exc_text = None
        if held:
            record.msg = f"{message} ({held} more like it in the last {self.spell_s:.0f} s)"
        return True

"""Bearer-token authentication of the receivers and the viewer, and the viewer's Host check.

:class:`Authenticator` compares the ``authorization`` header (gRPC metadata or HTTP header)
with every configured token in constant time (``hmac.compare_digest``, all of them, no early
exit), counts failures, and logs them at most once per client per minute. ``/healthz`` and
``/readyz`` stay open; the caller decides what else is guarded.

:func:`host_allowed` is the viewer's defence against DNS rebinding: a browser tricked into
sending a page of another site to the viewer sends that site's name as ``Host``, so only
names the viewer is known by are answered: IP literals, ``localhost``, this machine's name,
the bound host, and ``viewer_allowed_hosts``.

:func:`warn_if_exposed` is the one warning a process logs when other machines can reach
listeners that neither TLS nor tokens protect.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterable

log = logging.getLogger(__name__)

_LOG_EVERY_S = 60.0
_MAX_CLIENTS_REMEMBERED = 10_000


class Authenticator:
    """Checks ``Authorization: Bearer <token>`` against ``tokens`` (their revealed values)."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = [t.encode() for t in tokens]
        self.failures = 0
        self._lock = threading.Lock()
        self._logged: dict[str, float] = {}

    def check(self, authorization: str | None) -> bool:
        """True if ``authorization`` carries one of the tokens."""
        scheme, _, given = (authorization or "").strip().partition(" ")
        candidate = given.strip().encode() if scheme.lower() == "bearer" else b""
        ok = False
        for token in self._tokens:  # every one, whatever matched: constant time
            ok |= hmac.compare_digest(candidate, token)
        return ok and bool(candidate)

    def refused(self, client: str, what: str) -> None:
        """Count a refused request; log it unless ``client`` was logged in the last minute."""
        now = time.monotonic()
        with self._lock:
            self.failures += 1
            last = self._logged.get(client)
            if last is not None and now - last < _LOG_EVERY_S:
                return
            if len(self._logged) >= _MAX_CLIENTS_REMEMBERED:
                self._logged.clear()
            self._logged[client] = now
        log.warning(
            "refused %s from %s: no valid bearer token (logged once a minute per client)",
            what,
            client,
        )


def host_allowed(host_header: str | None, bound: str, extra: Iterable[str]) -> bool:
    """True if the viewer answers a request with this ``Host`` header."""
    if not host_header:
        return True  # HTTP/1.0 clients; browsers always send one
    host = host_header.strip().lower()
    if host.startswith("["):  # [v6]:port
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    host = host.rstrip(".")
    try:
        ipaddress.ip_address(host)
        return True  # an IP literal cannot be rebound to another site
    except ValueError:
        pass
    names = {"localhost", bound.lower(), *(name.lower() for name in extra)}
    names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    return host in names or host.endswith(".localhost")


def is_loopback(host: str) -> bool:
    """True if ``host`` (a listen address) only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_if_exposed(
    host: str,
    *,
    protected: bool,
    receives: bool = False,
    metrics_port: int | None = None,
    viewer_port: int | None = None,
) -> None:
    """Log one warning saying what anyone who can reach ``host`` gets, unless ``host`` is a
    loopback address or ``protected`` (TLS or bearer tokens are on)."""
    if is_loopback(host) or protected:
        return
    exposed = ["anyone who can reach it can send data"] if receives else []
    if metrics_port is not None:
        exposed.append(f"read /metrics on port {metrics_port}")
    if viewer_port is not None:
        exposed.append(f"read everything stored through the viewer on port {viewer_port}")
    if exposed:
        log.warning(
            "listening on %s without TLS or auth_bearer_tokens, in plaintext: %s",
            host,
            ", ".join(exposed),
        )

"""An ASGI app served by uvicorn on a background thread (the OTLP/HTTP receiver, the viewer).

Each server caps its connections (beyond ``max_connections`` a new connection is closed at
once, logged once per spell) and gives a client ``header_timeout`` seconds to send a
request's headers, from connecting or, on a kept-alive connection, from the next request's
first byte: a connection that trickles bytes (slowloris) is closed then. Between requests a
kept-alive connection is idle, and closes after ``idle_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from otlp_arrow.errors import ReceiverError
from otlp_arrow.receivers import sockets
from otlp_arrow.receivers.limits import Limits, OncePerSpell

log = logging.getLogger(__name__)

#: asyncio's line when accept() fails (no descriptors left): once per spell, no traceback
_ACCEPT_ERRORS = OncePerSpell(("socket.accept() out of system resource",))


class BackgroundServer:
    """Serve ``app`` on ``host:port`` (0: a free port) from a daemon thread."""

    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        label: str,
        limits: Limits | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.label = label  # for errors: "OTLP/HTTP", "the web viewer"
        limits = limits if limits is not None else Limits()
        self.max_connections = limits.max_connections
        self.header_timeout = limits.header_timeout
        self.idle_timeout = limits.idle_timeout
        self.ssl_context = limits.ssl_context
        self.reuse_port = limits.reuse_port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    def start(self, timeout_s: float = 10.0) -> int:
        """Start serving; returns the bound port. ReceiverError if the port is taken."""
        sock = sockets.bind(self.host, self.requested_port, self.label, reuse_port=self.reuse_port)
        sock.listen(128)
        if _ACCEPT_ERRORS not in logging.getLogger("asyncio").filters:
            logging.getLogger("asyncio").addFilter(_ACCEPT_ERRORS)
        context = self.ssl_context
        config = uvicorn.Config(
            self.app,
            http=limited_protocol(self.max_connections, self.header_timeout, self.label),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=10,
            timeout_keep_alive=max(1, round(self.idle_timeout)),
            ssl_context_factory=None if context is None else (lambda _config, _default: context),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"otlp-arrow-{self.label.lower().replace(' ', '-').replace('/', '-')}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            server.should_exit = True
            sock.close()
            raise ReceiverError(f"the {self.label} server did not start")
        self._server, self._thread = server, thread
        self.port = sock.getsockname()[1]
        return self.port

    def stop(self, grace_s: float) -> None:
        """Stop accepting, let requests in flight finish (up to ``grace_s``)."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(grace_s + 5)
            self._server = self._thread = None


def limited_protocol(max_connections: int, header_timeout: float, label: str) -> type[Any]:
    """uvicorn's h11 protocol with a connection cap and a header timeout."""
    refused = OncePerSpell(("refused",))
    refusals = logging.getLogger(f"{__name__}.connections")
    refusals.addFilter(refused)

    class LimitedH11Protocol(H11Protocol):
        _refused = False
        _header_timer: asyncio.TimerHandle | None = None
        _awaiting: Any = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            if len(self.connections) >= max_connections:
                self._refused = True
                refusals.warning(
                    "refused %s connections beyond max_connections=%d (logged once a minute)",
                    label,
                    max_connections,
                )
                transport.close()  # nothing buffered yet: closed at once
                return
            # Our listening socket is made by hand (for SO_REUSEPORT), so asyncio does not set
            # TCP_NODELAY on the accepted ones as it does for its own: without it a response
            # written in two parts (headers, then a short body such as OTLP/JSON's "{}")
            # waits for the client's delayed ACK, 40 ms a request on Linux.
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(cast(asyncio.Transport, transport))
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            self._cancel_header_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            between = self.cycle is None or self.cycle.response_complete
            if self._header_timer is None and between:
                self._arm_header_timer()  # a kept-alive connection's next request begins
            super().data_received(data)
            if self._header_timer is not None and self.cycle is not self._awaiting:
                self._cancel_header_timer()  # the request's headers are in

        def _arm_header_timer(self) -> None:
            self._cancel_header_timer()
            self._awaiting = self.cycle
            self._header_timer = self.loop.call_later(header_timeout, self._header_timed_out)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_timed_out(self) -> None:
            self._header_timer = None
            waiting = self.cycle is self._awaiting and (
                self.cycle is None or self.cycle.response_complete
            )
            if waiting and not self.transport.is_closing():
                log.debug("%s: no request headers within %.1fs, closing", label, header_timeout)
                self.transport.close()

    return LimitedH11Protocol

"""An ASGI app served by uvicorn on a background thread (the OTLP/HTTP receiver, the viewer)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from otlp_arrow.errors import ReceiverError


class BackgroundServer:
    """Serve ``app`` on ``host:port`` (0: a free port) from a daemon thread."""

    def __init__(self, app: Any, host: str, port: int, label: str) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.label = label  # for errors: "OTLP/HTTP", "the web viewer"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    def start(self, timeout_s: float = 10.0) -> int:
        """Start serving; returns the bound port. ReceiverError if the port is taken."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no other process may share it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:  # POSIX: a restart may bind while the old connections are in TIME_WAIT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.requested_port))
        except OSError as exc:
            sock.close()
            raise ReceiverError(
                f"cannot listen for {self.label} on {self.host}:{self.requested_port}: "
                f"{exc.strerror or exc}"
            ) from exc
        sock.listen(128)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=10,
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

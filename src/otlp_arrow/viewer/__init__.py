"""The read-only web viewer: traces, metrics and logs of one output directory.

``otlp-arrow view`` runs it on its own; ``otlp-arrow serve --viewer`` beside the receivers.
"""

from __future__ import annotations

from pathlib import Path

from otlp_arrow.query import Store
from otlp_arrow.receivers.asgi import BackgroundServer
from otlp_arrow.receivers.auth import host_allowed
from otlp_arrow.receivers.limits import Limits
from otlp_arrow.viewer.app import create_app

#: Listen addresses meaning every address of the machine.
_EVERY = ("0.0.0.0", "::", "")

#: The viewer's default port (4317/4318 are OTLP's; 4320 is free in the usual setups).
DEFAULT_PORT = 4320


class Viewer:
    """The viewer of ``output_dir`` on ``host:port`` (0: a free port), on a thread."""

    def __init__(
        self,
        output_dir: Path | str,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        limits: Limits | None = None,
        allowed_hosts: tuple[str, ...] = (),
        query_timeout: float = 10.0,
        memory_limit: int = 512 * 1024**2,
        spool_dir: Path | None = None,
    ):
        self.store = Store(output_dir, spool_dir)
        limits = limits if limits is not None else Limits()
        app = create_app(
            self.store,
            auth=limits.auth,
            host_ok=lambda header: host_allowed(header, host, allowed_hosts),
            query_timeout=query_timeout,
            memory_limit=memory_limit,
        )
        self._server = BackgroundServer(app, host, port, "the web viewer", limits)

    def start(self) -> int:
        """Start serving; returns the port. ReceiverError if the port is taken."""
        return self._server.start()

    def stop(self) -> None:
        self._server.stop(grace_s=1.0)

    @property
    def port(self) -> int | None:
        """The port listened on (the chosen one when 0 was asked for); None until started."""
        return self._server.port

    @property
    def url(self) -> str:
        host = self._server.host
        shown = "127.0.0.1" if host in _EVERY else host
        if ":" in shown:
            shown = f"[{shown}]"
        scheme = "https" if self._server.ssl_context is not None else "http"
        return f"{scheme}://{shown}:{self._server.port}/"

    @property
    def where(self) -> str:
        """The URL to open on this machine, and the address listened on when it differs."""
        host = self._server.host
        return self.url + (f" (listening on {host or '0.0.0.0'})" if host in _EVERY else "")


__all__ = ["DEFAULT_PORT", "Viewer", "create_app"]

"""TLS for every listener: one certificate and key (PEM), optionally a client CA (mutual TLS:
client certificates required and verified), re-read without a restart.

:class:`ServerTls` holds the files' current contents and a generation number. ``reload()``
(on SIGHUP, or when the watcher sees a file change) re-reads them; a pair that does not load
(a half-written file) is logged and the previous one kept. The HTTP listeners share one
``ssl.SSLContext``; a reload builds a whole new context and every later handshake switches to
it in the context's SNI callback (called for every ClientHello, with or without a server
name), so a handshake gets the old pair or the new one, never a half-replaced chain; open
connections are not touched. The new context carries the client CA file as it is now, and
OpenSSL verifies a client against the context the handshake switched to, so a CA taken out
of the file is no longer trusted for new connections. gRPC asks :meth:`grpc_credentials`'
fetcher at every handshake and gets a new configuration when the generation changed.
"""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path
from typing import Any

from otlp_arrow.errors import ConfigError

log = logging.getLogger(__name__)


class ServerTls:
    """The server side of TLS for ``cert_file`` / ``key_file`` (and ``client_ca_file``)."""

    def __init__(self, cert_file: Path, key_file: Path, client_ca_file: Path | None) -> None:
        self.cert_file, self.key_file, self.client_ca_file = cert_file, key_file, client_ca_file
        self.generation = 0
        self._lock = threading.Lock()
        self._stamps = self._stat()
        try:
            self.context = self._new_context()  # what the listeners are given
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ConfigError(
                f"TLS: {self._unreadable() or f'cannot load {self._names()}: {_reason(exc)}'}"
            ) from None
        self._current = self.context  # what the next handshake uses (replaced by reload)
        self.context.sni_callback = self._select
        self._pem = self._read()

    @property
    def mutual(self) -> bool:
        return self.client_ca_file is not None

    def _unreadable(self) -> str | None:
        """Which configured file cannot be read, and why (None if all can: then one of them
        does not parse, and ssl does not say which)."""
        for path in (self.cert_file, self.key_file, self.client_ca_file):
            if path is not None:
                try:
                    path.open("rb").close()
                except OSError as exc:
                    return f"cannot read {path}: {exc.strerror or exc}"
        return None

    def _names(self) -> str:
        files = [self.cert_file, self.key_file, self.client_ca_file]
        return ", ".join(str(f) for f in files if f is not None)

    def _new_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        if self.client_ca_file is not None:
            context.load_verify_locations(cafile=self.client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def _select(self, connection: Any, server_name: str | None, context: Any) -> None:
        """The SNI callback: the handshake continues with the newest context."""
        current = self._current
        if current is not context:
            connection.context = current

    def _read(self) -> tuple[bytes, bytes, bytes | None]:
        ca = self.client_ca_file.read_bytes() if self.client_ca_file is not None else None
        return self.cert_file.read_bytes(), self.key_file.read_bytes(), ca

    def _stat(self) -> tuple[tuple[float, int], ...]:
        stamps = []
        for path in (self.cert_file, self.key_file, self.client_ca_file):
            if path is not None:
                try:
                    st = path.stat()
                    stamps.append((st.st_mtime, st.st_size))
                except OSError:
                    stamps.append((0.0, -1))
        return tuple(stamps)

    def changed(self) -> bool:
        """True if a file's modification time or size changed since the last (re)load."""
        return self._stat() != self._stamps

    def reload(self) -> bool:
        """Re-read the files; True if the new certificate is in use. A pair that does not
        load (a file half-written, a key that does not match) keeps the old one."""
        with self._lock:
            self._stamps = self._stat()
            try:
                fresh = self._new_context()
                pem = self._read()
            except (OSError, ssl.SSLError, ValueError) as exc:
                log.warning(
                    "TLS: kept the previous certificate: %s", self._unreadable() or _reason(exc)
                )
                return False
            self._current = fresh  # one reference swap: the next handshakes take it whole
            self._pem = pem
            self.generation += 1
        log.info("TLS: certificate re-read from %s", self.cert_file)
        return True

    def grpc_credentials(self) -> Any:
        """``grpc.ServerCredentials`` that follow :meth:`reload`."""
        import grpc

        seen = self.generation

        def fetch() -> Any:
            nonlocal seen
            if self.generation == seen:
                return None  # unchanged: grpc keeps the current configuration
            seen = self.generation
            return self._grpc_config(grpc)

        return grpc.dynamic_ssl_server_credentials(
            self._grpc_config(grpc), fetch, require_client_authentication=self.mutual
        )

    def _grpc_config(self, grpc: Any) -> Any:
        cert, key, ca = self._pem
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def watch(self, interval_s: float, stop: threading.Event) -> threading.Thread:
        """A daemon thread re-reading the files when they change, until ``stop`` is set."""

        def run() -> None:
            while not stop.wait(interval_s):
                if self.changed():
                    self.reload()

        thread = threading.Thread(target=run, name="otlp-arrow-tls-watch", daemon=True)
        thread.start()
        return thread


def server_tls(
    cert_file: Path | None, key_file: Path | None, client_ca_file: Path | None
) -> ServerTls | None:
    """The TLS of the listeners from the settings; None when TLS is off."""
    if cert_file is None and key_file is None:
        if client_ca_file is not None:
            raise ConfigError("tls_client_ca_file needs tls_cert_file and tls_key_file")
        return None
    if cert_file is None or key_file is None:
        raise ConfigError("TLS needs both tls_cert_file and tls_key_file (PEM)")
    return ServerTls(cert_file, key_file, client_ca_file)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__

"""The listening socket of a receiver, bound the same way for OTLP/HTTP, the viewer and (as a
probe before gRPC binds its own) OTLP/gRPC, so a taken port is one clear ReceiverError."""

from __future__ import annotations

import socket

from otlp_arrow.errors import ReceiverError


def bind(host: str, port: int, label: str, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not listening yet); ReceiverError naming
    ``label`` and the address if it cannot be (in use, not this machine's, not allowed)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no other process may share it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:  # POSIX: a restart may bind while the old connections are in TIME_WAIT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:  # serve --workers: the kernel spreads connections over processes
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ReceiverError(
            f"cannot listen for {label} on {host}:{port}: {exc.strerror or exc}"
        ) from exc
    return sock

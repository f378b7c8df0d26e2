"""``Service``: the standalone OTLP sink, composition root of the network path.

Owns an :class:`OtlpLibrary` (buffer, writer, files) and the receivers that feed it. For now
the OTLP/gRPC receiver; OTLP/HTTP, health and self-metrics come next (issue #4).
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from otlp_arrow.config import Config
from otlp_arrow.library import OtlpLibrary
from otlp_arrow.receivers.grpc import GrpcReceiver

log = logging.getLogger(__name__)


class Service:
    """``Service(config=None, **overrides)``: start with :meth:`start` (or ``with``), stop
    with :meth:`stop`. ``grpc_port`` is the bound port once started (the chosen one when the
    setting is 0)."""

    def __init__(self, config: Config | None = None, **overrides: Any) -> None:
        self.library = OtlpLibrary(config, **overrides)
        self.config = self.library.config
        self.grpc_port: int | None = None
        self._grpc = None
        if self.config.grpc_port is not None:
            self._grpc = GrpcReceiver(
                self.library.accept_converted,
                host=self.config.host,
                port=self.config.grpc_port,
                max_receive_bytes=self.config.max_receive_bytes,
                retry_after_s=self.config.retry_after,
            )

    def start(self) -> Service:
        if self._grpc is not None:
            try:
                self.grpc_port = self._grpc.start()
            except Exception:
                self.library.shutdown()
                raise
            log.info(
                "OTLP/gRPC listening on %s:%d, writing to %s",
                self.config.host,
                self.grpc_port,
                self.config.output_dir,
            )
        return self

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop accepting, let calls in flight finish, write everything, close the files."""
        if self._grpc is not None:
            self._grpc.stop(grace_s)
        self.library.shutdown()
        log.info("otlp-arrow stopped; everything received is in %s", self.config.output_dir)

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

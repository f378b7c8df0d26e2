"""``Service``: the standalone OTLP sink, composition root of the network path.

Owns an :class:`OtlpLibrary` (buffer, writer, files) and the receivers that feed it: OTLP/gRPC
and OTLP/HTTP, with readiness and the Prometheus self-metrics on the HTTP port.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from otlp_arrow.config import Config
from otlp_arrow.library import OtlpLibrary
from otlp_arrow.receivers.auth import Authenticator, warn_if_exposed
from otlp_arrow.receivers.grpc import GrpcReceiver
from otlp_arrow.receivers.handover import ReceiverStats
from otlp_arrow.receivers.http import HttpReceiver
from otlp_arrow.receivers.limits import InflightBytes, Limits, connection_cap, raise_fd_limit
from otlp_arrow.receivers.tls import server_tls
from otlp_arrow.schema import Signal
from otlp_arrow.service import prometheus
from otlp_arrow.service.supervisor import check_workers
from otlp_arrow.storage import compact, fs
from otlp_arrow.storage.upload import FinalHook

if TYPE_CHECKING:
    from otlp_arrow.lake.runner import Lake
    from otlp_arrow.storage.retention import Guard

log = logging.getLogger(__name__)


class Service:
    """``Service(config=None, **overrides)``: start with :meth:`start` (or ``with``), stop
    with :meth:`stop`. ``grpc_port``, ``http_port`` and ``viewer_port`` are the bound ports
    once started (the chosen ones when the settings are 0; None for what is off)."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        on_file_final: FinalHook | None = None,
        **overrides: Any,
    ) -> None:
        config = Config.of(config, **overrides)
        check_workers(config.workers)  # workers > 1: this process shares its ports
        if config.durability is None:  # the service acknowledges what is in the files
            config = config.replace(durability="written")
        fs.check_writable_dir(config.local_dir)  # a clear error now, not on every write
        self.tls = server_tls(config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file)
        self._tls_watch = threading.Event()
        # iceberg_catalog: sealed files committed to tables once final (otlp_arrow.lake)
        self.lake = _lake(config)
        try:
            hook = _both(on_file_final, self.lake.sealed if self.lake else None)
            self.library = OtlpLibrary(config, on_file_final=hook)  # see storage.upload
        except BaseException:
            if self.lake is not None:
                self.lake.close()
            raise
        self.config = config
        # sealed files of ended hours merged into sorted, sized ones (only forwarded ones),
        # on disk or in the bucket; not the files of Iceberg tables (their snapshots name
        # them; the table's engine compacts them)
        self.compactor = (
            _compactor(config, self.library._forwarder)  # the same guard as retention
            if config.seal == "parquet" and self.lake is None
            else None
        )
        self.grpc_port: int | None = None
        self.http_port: int | None = None
        self.viewer_port: int | None = None
        self._ready = self._started = False
        self.worker: int | None = None  # serve --workers: this process's number (/metrics)
        self.receiver_stats = ReceiverStats()
        accept = self.library.accept_converted
        self.inflight = InflightBytes(config.max_inflight_bytes)
        tokens = [token.reveal() for token in config.auth_bearer_tokens]
        self.auth = Authenticator(tokens) if tokens else None
        limits: dict[str, Any] = {
            "host": config.host,
            "max_receive_bytes": config.max_receive_bytes,
            "retry_after_s": config.retry_after,
            "stats": self.receiver_stats,
            "limits": self._limits(config),
        }
        self._grpc = (
            None
            if config.grpc_port is None
            else GrpcReceiver(
                accept,
                port=config.grpc_port,
                credentials=None if self.tls is None else self.tls.grpc_credentials(),
                **limits,
            )
        )
        self._http = (
            None
            if config.http_port is None
            else HttpReceiver(
                accept,
                port=config.http_port,
                **limits,
                cors_origins=list(config.cors_origins),
                ready=lambda: self.ready,
                metrics_text=self.metrics_text,
            )
        )
        self._viewer = None
        if config.viewer_port is not None:
            from otlp_arrow.viewer import Viewer

            self._viewer = Viewer(
                config.output_dir,
                config.host,
                config.viewer_port,
                spool_dir=config.spool_dir,
                limits=limits["limits"],
                allowed_hosts=config.viewer_allowed_hosts,
                query_timeout=config.viewer_query_timeout,
                memory_limit=config.viewer_memory_limit,
            )

    def _limits(self, config: Config) -> Limits:
        """The receivers' limits; connection caps lowered to fit the open-file limit."""
        listeners = sum(p is not None for p in (config.grpc_port, config.http_port))
        listeners += config.viewer_port is not None
        fd_limit = raise_fd_limit()
        cap = connection_cap(config.max_connections, listeners, fd_limit)
        if cap < config.max_connections:
            log.info(
                "max_connections lowered to %d per listener: %d listeners must fit in the "
                "open-file limit of %s",
                cap,
                listeners,
                fd_limit,
            )
        return Limits(
            max_connections=cap,
            header_timeout=config.header_timeout,
            body_timeout=config.body_timeout,
            idle_timeout=config.idle_timeout,
            inflight=self.inflight,
            ssl_context=None if self.tls is None else self.tls.context,
            auth=self.auth,
            reuse_port=config.workers > 1,
        )

    def reload_tls(self) -> bool:
        """Re-read the TLS certificate, key and client CA (what SIGHUP does); True if the
        new ones are in use. Open connections are not dropped."""
        return self.tls is not None and self.tls.reload()

    def _security_text(self) -> str:
        if self.tls is None:
            return ""
        return " (TLS, client certificates required)" if self.tls.mutual else " (TLS)"

    def start(self) -> Service:
        """Start the receivers; on failure stop what started and raise ReceiverError."""
        try:
            tls = self._security_text()
            if self._grpc is not None:
                self.grpc_port = self._grpc.start()
                log.info("OTLP/gRPC listening on %s:%d%s", self.config.host, self.grpc_port, tls)
            if self._http is not None:
                self.http_port = self._http.start()
                log.info("OTLP/HTTP listening on %s:%d%s", self.config.host, self.http_port, tls)
            if self._viewer is not None:
                self.viewer_port = self._viewer.start()
                log.info("web viewer on %s", self._viewer.where)
        except Exception:
            self.stop(0)
            raise
        if self.tls is not None:
            self.tls.watch(1.0, self._tls_watch)
        if self.worker is None:  # serve --workers: the supervisor warns once, for all
            warn_if_exposed(
                self.config.host,
                protected=self.tls is not None or self.auth is not None,
                receives=self._grpc is not None or self._http is not None,
                metrics_port=self.http_port,
                viewer_port=self.viewer_port,
            )
        if self._grpc is None and self._http is None:
            log.warning(
                "no receiver is on (grpc_port and http_port are off): this process receives nothing"
            )
        if self.compactor is not None:
            self.compactor.start()
        log.info("writing to %s", self._where())
        self._ready = self._started = True
        return self

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop accepting, let calls in flight finish, write everything, close the files."""
        self._ready = False  # /readyz says so while draining
        self._tls_watch.set()
        if self._viewer is not None:
            self._viewer.stop()
        for receiver in (self._http, self._grpc):
            if receiver is not None:
                receiver.stop(grace_s)
        if self.compactor is not None:
            self.compactor.close()  # waits for a pass under way (its files stay consistent)
        self.library.shutdown()
        if self.lake is not None:  # after the writer: it seals the last files on shutdown
            self.lake.close()
        if self._started:  # a failed start has its own error
            log.info("otlp-arrow stopped; everything received is in %s", self._where())

    def _where(self) -> str:
        if self.config.remote is None:
            return str(self.config.output_dir)
        return f"{self.config.remote} (spool {self.config.local_dir})"

    @property
    def ready(self) -> bool:
        """True once the receivers and the writer run and while writing works; False while
        writes fail and while stopping."""
        return self._ready and self.library.writable

    def stats(self) -> dict[str, Any]:
        """The receivers' counters per (signal, protocol) and the library's numbers."""
        receivers = {key: asdict(c) for key, c in self.receiver_stats.snapshot().items()}
        return {"receivers": receivers, **self.library.stats()}

    def metrics_text(self) -> str:
        """``stats()`` in the Prometheus text format (what ``GET /metrics`` answers)."""
        text = prometheus.render(
            self.receiver_stats.snapshot(), self.library.counters(), self.ready
        )
        if self.worker is None:
            return text
        return prometheus.with_labels(text, {"worker": str(self.worker)})

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _compactor(config: Config, guard: Guard | None) -> compact.Compactor:
    if config.remote is None:
        return compact.Compactor(config.local_dir, compact.INTERVAL_S, guard=guard)
    from otlp_arrow.storage.compact_remote import BucketCompactor
    from otlp_arrow.storage.objects import open_bucket

    scratch = config.local_dir / ".compact"  # the merged file before its upload
    return BucketCompactor(open_bucket(config.remote), scratch, compact.INTERVAL_S, guard)


def _lake(config: Config) -> Lake | None:
    if not config.iceberg_catalog:
        return None
    from otlp_arrow.lake.runner import Lake

    return Lake(config)


def _both(first: FinalHook | None, second: FinalHook | None) -> FinalHook | None:
    """One final-location hook that calls ``first`` then ``second`` (either may be None)."""
    if first is None or second is None:
        return first or second

    def both(signal: Signal, uri: str, local: Path) -> None:
        first(signal, uri, local)
        second(signal, uri, local)

    return both

"""OTLP/gRPC receiver: ``TraceService``, ``MetricsService`` and ``LogsService`` ``Export``.

Requests are parsed and converted here (invalid items are left out and reported in
``partial_success``); the batches go to the library's pipeline. A full buffer answers
``RESOURCE_EXHAUSTED`` with a ``google.rpc.RetryInfo`` in the trailing metadata, as the OTLP
specification describes, so clients back off and retry. Compressed (gzip) requests and the
receive size limit are handled by grpcio.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo

from otlp_arrow.convert import Converted, convert_bytes
from otlp_arrow.errors import (
    BufferFullError,
    ClosedError,
    ConversionError,
    ReceiverError,
    StorageError,
)
from otlp_arrow.otlp.services import SERVICES, OtlpService
from otlp_arrow.receivers import sockets
from otlp_arrow.receivers.handover import ReceiverStats, hand_over
from otlp_arrow.receivers.limits import CONVERSION_FACTOR, Limits

log = logging.getLogger(__name__)


class GrpcReceiver:
    """An OTLP/gRPC server handing converted requests to ``accept``."""

    def __init__(
        self,
        accept: Callable[[Converted], None],
        *,
        host: str,
        port: int,
        max_receive_bytes: int,
        retry_after_s: float,
        stats: ReceiverStats | None = None,
        workers: int = 8,
        limits: Limits | None = None,
        credentials: grpc.ServerCredentials | None = None,
    ) -> None:
        self._limits = limits if limits is not None else Limits()
        self._credentials = credentials  # TLS; None: plaintext
        self._accept = accept
        self.stats = stats if stats is not None else ReceiverStats()
        self._host, self._port = host, port
        self._address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._max = max_receive_bytes
        self._retry_after_s = retry_after_s
        self._workers = workers
        self._server: grpc.Server | None = None
        self.port: int | None = None

    def start(self) -> int:
        """Start serving; returns the bound port (the chosen one when asked for port 0)."""
        limits = self._limits
        if self._port:  # a taken port: our clear error, before gRPC's own log line for it
            sockets.bind(self._host, self._port, "OTLP/gRPC", reuse_port=limits.reuse_port).close()
        server = grpc.server(
            ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="otlp-arrow-grpc"),
            options=[
                ("grpc.max_receive_message_length", self._max),
                ("grpc.so_reuseport", int(limits.reuse_port)),
                ("grpc.max_allowed_incoming_connections", limits.max_connections),
                ("grpc.server_handshake_timeout_ms", int(limits.header_timeout * 1000)),
                ("grpc.max_connection_idle_ms", int(limits.idle_timeout * 1000)),
            ],
            # calls waiting for a worker hold their message: at most as many again
            maximum_concurrent_rpcs=2 * self._workers,
        )
        server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    service.name,
                    {
                        "Export": grpc.unary_unary_rpc_method_handler(self._handler(service)),
                    },
                )
                for service in SERVICES.values()
            ]
        )
        try:
            port = (
                server.add_insecure_port(self._address)
                if self._credentials is None
                else server.add_secure_port(self._address, self._credentials)
            )
        except RuntimeError as exc:
            raise ReceiverError(f"cannot listen for OTLP/gRPC on {self._address}: {exc}") from exc
        if port == 0:
            raise ReceiverError(
                f"cannot listen for OTLP/gRPC on {self._address}: address in use or not available"
            )
        server.start()
        self._server, self.port = server, port
        return port

    def stop(self, grace_s: float) -> None:
        """Stop accepting calls, let the ones in flight finish (up to ``grace_s``)."""
        if self._server is not None:
            self._server.stop(grace_s).wait()
            self._server = None

    def _handler(self, service: OtlpService) -> Callable[[bytes, grpc.ServicerContext], bytes]:
        signal, stats = service.signal, self.stats  # admitted within max_inflight_bytes

        def export(raw: bytes, context: grpc.ServicerContext) -> bytes:
            auth = self._limits.auth
            if auth is not None:
                metadata = dict(context.invocation_metadata())
                if not auth.check(str(metadata.get("authorization", ""))):
                    stats.unauthenticated(signal, "grpc")
                    auth.refused(_client(context.peer()), f"OTLP/gRPC {signal}")
                    context.abort(
                        grpc.StatusCode.UNAUTHENTICATED, "a valid bearer token is required"
                    )
            stats.request(signal, "grpc", len(raw))
            held = len(raw) * (1 + CONVERSION_FACTOR)
            if not self._limits.inflight.acquire(held):
                self._retry_later(context)
                context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"too many bytes in flight (max_inflight_bytes="
                    f"{self._limits.inflight.limit}); retry later",
                )
            try:
                return self._export(service, raw, context)
            finally:
                self._limits.inflight.release(held)

        return export

    def _export(self, service: OtlpService, raw: bytes, context: grpc.ServicerContext) -> bytes:
        signal, stats = service.signal, self.stats
        try:  # the raw bytes go to the native core: no Python protobuf objects per item
            converted = convert_bytes(raw, signal, strict=False)
        except ConversionError as exc:
            stats.malformed(signal, "grpc")
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"malformed {service.request.__name__}: {exc}"
            )
        try:
            response = hand_over(
                converted,
                self._accept,
                stats,
                "grpc",
                service.response(),
                service.rejected_field,
            )
        except BufferFullError as exc:
            self._retry_later(context)
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        except StorageError as exc:  # not written (durable): retryable, nothing kept
            self._retry_later(context)
            context.abort(grpc.StatusCode.UNAVAILABLE, f"not stored: {exc}")
        except ClosedError:
            context.abort(grpc.StatusCode.UNAVAILABLE, "otlp-arrow is shutting down")
        return response.SerializeToString()  # type: ignore[no-any-return]

    def _retry_later(self, context: grpc.ServicerContext) -> None:
        """Tell the client when to retry (``google.rpc.RetryInfo``, as the OTLP spec asks)."""
        delay = Duration(seconds=int(self._retry_after_s), nanos=int(self._retry_after_s % 1 * 1e9))
        info = RetryInfo(retry_delay=delay).SerializeToString()
        context.set_trailing_metadata((("google.rpc.retryinfo-bin", info),))


def _client(peer: str) -> str:
    """The address of a gRPC peer (``ipv4:1.2.3.4:5678``, ``ipv6:[::1]:5678``), no port."""
    address = peer.split(":", 1)[-1]
    return address.rsplit(":", 1)[0].strip("[]")

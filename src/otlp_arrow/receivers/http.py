"""OTLP/HTTP receiver: ``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs`` (Starlette + uvicorn).

Bodies in ``application/x-protobuf`` or ``application/json``, optionally gzip-compressed;
responses are encoded like the request and carry ``partial_success``. Errors follow the OTLP
specification: 400 with a ``google.rpc.Status`` saying what is wrong, 408 for a body not
received within ``body_timeout``, 413 for bodies too large before or after decompression (a
gzip bomb is stopped at the limit), 415 for other content types or encodings, 429 with
``Retry-After`` when the buffer is full or the in-flight bytes are at ``max_inflight_bytes``,
503 while stopping.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError, Message
from google.rpc.status_pb2 import Status
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from otlp_arrow.convert import Converted, convert_bytes, convert_json
from otlp_arrow.errors import BufferFullError, ClosedError, ConversionError, StorageError
from otlp_arrow.otlp import json_wire
from otlp_arrow.otlp.services import SERVICES
from otlp_arrow.receivers.asgi import BackgroundServer
from otlp_arrow.receivers.handover import ReceiverStats, hand_over
from otlp_arrow.receivers.limits import CONVERSION_FACTOR, InflightBytes, Limits
from otlp_arrow.schema import Signal

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class _TooLargeError(Exception):
    pass


class _BusyError(Exception):
    pass


class _Held:
    """The bytes one request holds of the shared in-flight budget."""

    def __init__(self, budget: InflightBytes) -> None:
        self.budget, self.nbytes = budget, 0

    def take(self, nbytes: int) -> None:
        if not self.budget.acquire(nbytes):
            raise _BusyError(
                f"too many bytes in flight (max_inflight_bytes={self.budget.limit}); retry later"
            )
        self.nbytes += nbytes

    def release(self) -> None:
        self.budget.release(self.nbytes)
        self.nbytes = 0


#: answers given before the body was read to its end: the connection cannot be reused
_CLOSE = {"Connection": "close"}
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class HttpReceiver:
    """An OTLP/HTTP server (uvicorn in a thread) handing converted requests to ``accept``."""

    def __init__(
        self,
        accept: Callable[[Converted], None],
        *,
        host: str,
        port: int,
        max_receive_bytes: int,
        retry_after_s: float,
        cors_origins: list[str] | None = None,
        stats: ReceiverStats | None = None,
        ready: Callable[[], bool] = lambda: True,
        metrics_text: Callable[[], str] | None = None,
        limits: Limits | None = None,
    ) -> None:
        limits = limits if limits is not None else Limits()
        self._limits = limits
        self._accept = accept
        self.stats = stats if stats is not None else ReceiverStats()
        self._ready = ready
        self._metrics_text = metrics_text
        self._max = max_receive_bytes
        self._retry_after = max(1, round(retry_after_s))
        routes = [
            Route(f"/v1/{signal}", self._endpoint(signal), methods=["POST"]) for signal in SERVICES
        ]
        routes.append(Route("/healthz", self._healthz, methods=["GET"]))
        routes.append(Route("/readyz", self._readyz, methods=["GET"]))
        if metrics_text is not None:
            routes.append(Route("/metrics", self._metrics, methods=["GET"]))
        middleware = []
        if cors_origins:
            middleware.append(
                Middleware(
                    CORSMiddleware,
                    allow_origins=cors_origins,
                    allow_methods=["POST"],
                    allow_headers=["*"],
                )
            )
        self.app = Starlette(routes=routes, middleware=middleware)
        self._background = BackgroundServer(self.app, host, port, "OTLP/HTTP", limits)
        self.port: int | None = None

    def start(self, timeout_s: float = 10.0) -> int:
        """Start serving in a background thread; returns the bound port."""
        self.port = self._background.start(timeout_s)
        return self.port

    def stop(self, grace_s: float) -> None:
        """Stop accepting, let requests in flight finish (up to ``grace_s``)."""
        self._background.stop(grace_s)

    async def _healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def _readyz(self, request: Request) -> Response:
        if self._ready():
            return PlainTextResponse("ready\n")
        return PlainTextResponse("not ready\n", status_code=503)

    def _authorized(self, request: Request, what: str) -> bool:
        auth = self._limits.auth
        if auth is None or auth.check(request.headers.get("authorization")):
            return True
        auth.refused(_peer(request).rsplit(":", 1)[0], what)
        return False

    async def _metrics(self, request: Request) -> Response:
        assert self._metrics_text is not None
        if not self._authorized(request, "GET /metrics"):
            return PlainTextResponse("a bearer token is required\n", 401, _CHALLENGE)
        return PlainTextResponse(
            self._metrics_text(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    def _endpoint(self, signal: Signal) -> Callable[[Request], Any]:
        async def export(request: Request) -> Response:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if not self._authorized(request, f"OTLP/HTTP {signal}"):
                self.stats.unauthenticated(signal, "http")
                shown = content_type if content_type == JSON else PROTOBUF
                return _status(401, "a valid bearer token is required", shown, _CHALLENGE)
            if content_type not in (PROTOBUF, JSON):
                return _status(
                    415,
                    f"unsupported Content-Type {content_type!r}: send {PROTOBUF} or {JSON}",
                    PROTOBUF,
                )
            encoding = request.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("identity", "gzip"):
                return _status(
                    415,
                    f"unsupported Content-Encoding {encoding!r}: send gzip or no encoding",
                    content_type,
                )
            held = _Held(self._limits.inflight)
            try:
                return await self._export(request, signal, content_type, encoding, held)
            finally:
                held.release()

        return export

    async def _export(
        self, request: Request, signal: Signal, content_type: str, encoding: str, held: _Held
    ) -> Response:
        service = SERVICES[signal]
        retry = {"Retry-After": str(self._retry_after)}
        try:
            body = await asyncio.wait_for(self._read(request, held), self._limits.body_timeout)
            self.stats.request(signal, "http", len(body))
            if encoding == "gzip":
                body = _gunzip(body, self._max)
                held.take(len(body))
            held.take(CONVERSION_FACTOR * len(body))
        except _TooLargeError as exc:
            return _status(413, str(exc), content_type, _CLOSE)
        except _BusyError as exc:
            return _status(429, str(exc), content_type, retry)
        except TimeoutError:
            limit = self._limits.body_timeout
            return _status(
                408, f"request body not received within {limit:g}s", content_type, _CLOSE
            )
        except ClientDisconnect:  # nobody to answer: one debug line, no traceback
            log.debug("OTLP/HTTP client %s went away mid-request", _peer(request))
            return Response(status_code=400)
        except ValueError as exc:  # not valid gzip
            self.stats.malformed(signal, "http")
            return _status(400, str(exc), content_type)
        try:
            converted = await run_in_threadpool(
                _convert, body, content_type, service.request, signal
            )
        except ValueError as exc:
            self.stats.malformed(signal, "http")
            return _status(400, f"malformed {service.request.__name__}: {exc}", content_type)
        try:  # in a thread: a durable submit waits for its write round
            response = await run_in_threadpool(
                hand_over,
                converted,
                self._accept,
                self.stats,
                "http",
                service.response(),
                service.rejected_field,
            )
        except BufferFullError as exc:
            return _status(429, str(exc), content_type, retry)
        except StorageError as exc:  # not written (durable): retryable, nothing kept
            return _status(503, f"not stored: {exc}", content_type, retry)
        except ClosedError:
            return _status(503, "otlp-arrow is shutting down", content_type, retry)
        return _encoded(200, response, content_type)

    async def _read(self, request: Request, held: _Held) -> bytes:
        """The body, its bytes reserved in ``held`` (the declared length up front). A body
        that does not fit is read to its end and dropped, so the client reads its 429."""
        declared = request.headers.get("content-length", "")
        reserved = int(declared) if declared.isdigit() else 0
        if reserved > self._max:
            raise _TooLargeError(f"request body larger than {self._max} bytes")
        busy: _BusyError | None = None
        try:
            held.take(reserved)
        except _BusyError as exc:
            busy = exc
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max:
                raise _TooLargeError(f"request body larger than {self._max} bytes")
            if busy is not None:
                continue
            try:
                if size > reserved:
                    held.take(size - max(reserved, size - len(chunk)))
            except _BusyError as exc:
                busy = exc
                chunks.clear()
                held.release()
                continue
            chunks.append(chunk)
        if busy is not None:
            raise busy
        return b"".join(chunks)


def _convert(
    body: bytes, content_type: str, message_type: type[Message], signal: Signal
) -> Converted:
    """A request body as a converted batch (partial: bad items counted); ValueError if the
    body is not a request. Both encodings go to the native core as bytes (JSON bodies it does
    not decide itself take the reference route, json_wire then the Python converter)."""
    try:
        if content_type == JSON:
            return convert_json(body, signal, strict=False)
        return convert_bytes(body, signal, strict=False)
    except (DecodeError, ConversionError) as exc:
        raise ValueError(str(exc)) from exc


def _gunzip(body: bytes, limit: int) -> bytes:
    """Decompress every member of a gzip body (RFC 1952 allows several, concatenated) up to
    ``limit`` bytes in all: a gzip bomb stops at the limit, not in memory. Anything after the
    last member that is not another member (trailing garbage) is refused."""
    parts: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(wbits=31)
        try:
            data = inflater.decompress(rest, limit - size + 1)
        except zlib.error as exc:
            what = "trailing data after the gzip stream" if parts else "body"
            raise ValueError(f"{what} is not valid gzip: {exc}") from None
        size += len(data)
        if size > limit or inflater.unconsumed_tail:
            raise _TooLargeError(f"request body larger than {limit} bytes after decompression")
        if not inflater.eof:
            raise ValueError("body is not valid gzip: truncated")
        parts.append(data)
        rest = inflater.unused_data
        if not rest:
            return b"".join(parts)


def _peer(request: Request) -> str:
    client = request.client
    return f"{client.host}:{client.port}" if client is not None else "(unknown)"


def _encoded(
    code: int, message: Message, content_type: str, headers: dict[str, str] | None = None
) -> Response:
    if content_type == JSON:
        return Response(json_wire.encode_response(message), code, headers, media_type=JSON)
    return Response(message.SerializeToString(), code, headers, media_type=PROTOBUF)


def _status(
    code: int, message: str, content_type: str, headers: dict[str, str] | None = None
) -> Response:
    return _encoded(
        code, Status(code=_GRPC_CODE.get(code, 2), message=message), content_type, headers
    )


# google.rpc.Code numbers matching the HTTP statuses we answer with
_GRPC_CODE = {400: 3, 401: 16, 408: 4, 413: 8, 415: 3, 429: 8, 503: 14}

"""A small real OTLP/HTTP and OTLP/gRPC endpoint whose answers a test scripts: to inject
failures (down, slow, 503 with Retry-After, 400, 401, RESOURCE_EXHAUSTED with RetryInfo,
partial success) against the forwarder, and to see what it received."""

from __future__ import annotations

import base64
import contextlib
import gzip
import http.client
import socket
import ssl
import subprocess
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status

from otlp_arrow.otlp import json_wire
from otlp_arrow.otlp.services import SERVICES


@dataclass
class Reply:
    """One scripted answer. ``status`` is an HTTP status or a gRPC status code name."""

    status: int | str = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    rejected: int = 0  # partial_success
    retry_delay: float | None = None  # gRPC RetryInfo
    echo: bool = False  # the error message repeats the request's headers (a careless server)
    drop: bool = False  # HTTP: the connection is closed without an answer
    garbage: bool = False  # HTTP: the answer is the request's authorization header, no status


@dataclass
class Received:
    signal: str
    headers: dict[str, str]
    request: Any
    at: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Endpoint:
    """The scripted endpoint. Replies are taken from ``script`` in order; once it is empty,
    every request succeeds."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.script: deque[Reply] = deque()
        self.received: list[Received] = []
        self.attempts: list[float] = []  # when each request came, answered or not
        self.lock = threading.Lock()

    def next_reply(self) -> Reply:
        with self.lock:
            self.attempts.append(time.monotonic())
            return self.script.popleft() if self.script else Reply()

    def record(self, signal: str, headers: dict[str, str], request: Any) -> None:
        with self.lock:
            self.received.append(Received(signal, headers, request, time.monotonic()))

    def items(self, signal: str) -> list[Any]:
        """Every span / data point / log record received for ``signal``."""
        resources, scopes, leaves = _FIELDS[signal]
        out: list[Any] = []
        with self.lock:
            for got in self.received:
                if got.signal != signal:
                    continue
                for resource in getattr(got.request, resources):
                    for scope in getattr(resource, scopes):
                        if leaves:
                            out.extend(getattr(scope, leaves))
                            continue
                        for metric in scope.metrics:
                            out.extend(getattr(metric, metric.WhichOneof("data")).data_points)
        return out


_FIELDS = {
    "traces": ("resource_spans", "scope_spans", "spans"),
    "metrics": ("resource_metrics", "scope_metrics", ""),
    "logs": ("resource_logs", "scope_logs", "log_records"),
}


class HttpEndpoint(Endpoint):
    """OTLP/HTTP protobuf and JSON on ``127.0.0.1:port`` (HTTPS with ``tls=(cert, key)``)."""

    def __init__(self, port: int | None = None, tls: tuple[Path, Path] | None = None) -> None:
        super().__init__(port)
        self.tls = tls
        self.server: ThreadingHTTPServer | None = None
        self.connections: list[tuple[str, int]] = []  # each accepted one's client address
        self.open: set[socket.socket] = set()

    def start(self) -> HttpEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections kept alive, as real OTLP servers do

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with endpoint.lock:
                    endpoint.connections.append(self.client_address)
                    endpoint.open.add(self.connection)

            def finish(self) -> None:
                with endpoint.lock:
                    endpoint.open.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                signal = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                reply = endpoint.next_reply()
                time.sleep(reply.delay)
                if reply.drop or reply.garbage:
                    if reply.garbage:
                        self.wfile.write(f"{self.headers['authorization']}\r\n\r\n".encode())
                    self.close_connection = True
                    return
                if reply.status != 200:
                    self.send_response(int(reply.status))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    message = f"scripted {reply.status}"
                    if reply.echo:
                        message += f"; you sent {dict(self.headers.items())}"
                    payload = Status(code=3, message=message).SerializeToString()
                    self.send_header("content-type", "application/x-protobuf")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                service = SERVICES[signal]
                is_json = self.headers.get("content-type", "").startswith("application/json")
                request = (
                    json_wire.parse(body, service.request)
                    if is_json
                    else service.request.FromString(body)
                )
                endpoint.record(signal, {k.lower(): v for k, v in self.headers.items()}, request)
                response = service.response()
                if reply.rejected:
                    setattr(response.partial_success, service.rejected_field, reply.rejected)
                    response.partial_success.error_message = "scripted rejection"
                payload = (
                    json_wire.encode_response(response) if is_json else response.SerializeToString()
                )
                self.send_response(200)
                self.send_header(
                    "content-type", "application/json" if is_json else "application/x-protobuf"
                )
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and drop the kept-alive connections: down means down."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


class ForwardProxy:
    """A plain HTTP forward proxy on ``127.0.0.1:port`` that relays each request to the URL
    it names and keeps those URLs in ``seen``."""

    def __init__(self, auth: str | None = None) -> None:
        self.port = free_port()
        self.seen: list[str] = []
        proxy = self
        wanted = f"Basic {base64.b64encode(auth.encode()).decode()}" if auth else None

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if wanted and self.headers.get("proxy-authorization") != wanted:
                    self.send_response(407)
                    self.send_header("proxy-authenticate", 'Basic realm="test"')
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                proxy.seen.append(self.path)  # a proxy is sent the absolute URL
                target = urlsplit(self.path)
                upstream = http.client.HTTPConnection(target.netloc, timeout=10)
                hop = ("host", "proxy-authorization")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in hop}
                upstream.request("POST", target.path, body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                upstream.close()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class GrpcEndpoint(Endpoint):
    """OTLP/gRPC on ``127.0.0.1:port`` (TLS with ``tls=(cert, key)``)."""

    def __init__(self, port: int | None = None, tls: tuple[Path, Path] | None = None) -> None:
        super().__init__(port)
        self.tls = tls
        self.server: grpc.Server | None = None

    def start(self) -> GrpcEndpoint:
        handlers = []
        for signal, service in SERVICES.items():
            handlers.append(
                grpc.method_handlers_generic_handler(
                    service.name,
                    {
                        "Export": grpc.unary_unary_rpc_method_handler(
                            self._handler(signal),
                            request_deserializer=service.request.FromString,
                            response_serializer=lambda m: m.SerializeToString(),
                        )
                    },
                )
            )
        self.server = grpc.server(ThreadPoolExecutor(4), handlers=handlers)
        if self.tls is None:
            self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        else:
            cert, key = (path.read_bytes() for path in self.tls)
            credentials = grpc.ssl_server_credentials([(key, cert)])
            self.server.add_secure_port(f"127.0.0.1:{self.port}", credentials)
        self.server.start()
        return self

    def _handler(self, signal: str) -> Any:
        service = SERVICES[signal]

        def export(request: Any, context: grpc.ServicerContext) -> Any:
            reply = self.next_reply()
            time.sleep(reply.delay)
            if reply.status != 200:
                code = grpc.StatusCode[str(reply.status)]
                if reply.retry_delay is not None:
                    info = RetryInfo(
                        retry_delay=Duration(
                            seconds=int(reply.retry_delay), nanos=int(reply.retry_delay % 1 * 1e9)
                        )
                    )
                    status = Status(code=code.value[0], message="scripted")
                    status.details.add().Pack(info)
                    context.set_trailing_metadata(
                        (("grpc-status-details-bin", status.SerializeToString()),)
                    )
                echoed = f"; you sent {context.invocation_metadata()}" if reply.echo else ""
                context.abort(code, f"scripted {reply.status}{echoed}")
            self.record(signal, dict(context.invocation_metadata()), request)
            response = service.response()
            if reply.rejected:
                setattr(response.partial_success, service.rejected_field, reply.rejected)
            return response

        return export

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(0).wait()
            self.server = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key

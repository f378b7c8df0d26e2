"""Send one OTLP export request to a remote endpoint and say what happened.

``HttpSender`` (OTLP/HTTP, protobuf or JSON; ``forward.http_sender``) and
``GrpcSender`` (OTLP/gRPC; grpcio) share one contract: ``send(signal, request)`` (the
serialized export request, as ``arrow_to_otlp_bytes`` makes it) returns an
:class:`Outcome` and never raises for a network or server failure. Which failures are worth
retrying follows the OTLP specification: HTTP 429, 502, 503, 504 and connection errors or
timeouts; gRPC UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, CANCELLED, OUT_OF_RANGE, DATA_LOSS, and
RESOURCE_EXHAUSTED when the server sent RetryInfo. Everything else (400, 401, 403,
INVALID_ARGUMENT, UNAUTHENTICATED, ...) is permanent. Messages never contain header values:
what a remote says (an error body may echo the request's headers) is scrubbed of every
configured secret before it goes into an :class:`Outcome`.
"""

from __future__ import annotations

import base64
import email.utils
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from google.protobuf.message import DecodeError, Message
from google.rpc.status_pb2 import Status

from otlp_arrow.config import Config
from otlp_arrow.errors import ConfigError
from otlp_arrow.otlp.services import SERVICES, export_method
from otlp_arrow.schema import Signal

RETRYABLE_HTTP = frozenset({429, 502, 503, 504})
#: how grpcio's resolvers say a host name does not resolve (c-ares and the native one)
_RESOLVE_FAILED = re.compile(r"DNS resolution failed|errors resolving|Domain name not found")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retryable: bool = False
    retry_after: float | None = None  # what the server asked for, seconds
    rejected: int = 0  # partial_success: items the server did not accept
    message: str = ""  # what went wrong (or the partial_success error message)
    kind: str = ""  # a short cause for counting and logging once: "HTTP 503", "UNAVAILABLE"
    unresolvable: bool = False  # the endpoint's host name does not resolve (retryable)


class Sender(Protocol):
    def send(self, signal: Signal, request: bytes) -> Outcome: ...

    def close(self) -> None: ...


def auth_headers(config: Config) -> list[tuple[str, str]]:
    """The headers every request carries: extra headers, then authentication. ConfigError if
    both a bearer token and basic auth are set (a request carries one ``Authorization``)."""
    if config.forward_bearer_token is not None and config.forward_basic_auth is not None:
        raise ConfigError(
            "forward_bearer_token and forward_basic_auth are both set, but a request carries "
            "one Authorization header: set one of them"
        )
    headers = [(name, value.reveal()) for name, value in config.forward_headers]
    if config.forward_api_key is not None:
        headers.append((config.forward_api_key_header, config.forward_api_key.reveal()))
    if config.forward_bearer_token is not None:
        headers.append(("authorization", f"Bearer {config.forward_bearer_token.reveal()}"))
    if config.forward_basic_auth is not None:
        token = base64.b64encode(config.forward_basic_auth.reveal().encode()).decode("ascii")
        headers.append(("authorization", f"Basic {token}"))
    return headers


def secret_texts(config: Config) -> tuple[str, ...]:
    """Every configured credential in each form it travels in (a basic-auth pair also as its
    base64 and its password alone), longest first: what :func:`scrub` removes."""
    texts = [value.reveal() for _, value in config.forward_headers]
    for secret in (config.forward_api_key, config.forward_bearer_token):
        if secret is not None:
            texts.append(secret.reveal())
    if config.forward_basic_auth is not None:
        pair = config.forward_basic_auth.reveal()
        texts += [pair, base64.b64encode(pair.encode()).decode("ascii"), pair.partition(":")[2]]
    return tuple(sorted({t for t in texts if len(t) >= 3}, key=len, reverse=True))


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` (something a remote said, to be logged) with every secret as ``***``: an
    endpoint may echo the request's headers in its error body."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def make_sender(config: Config) -> Sender:
    if not config.forward_endpoint:
        raise ConfigError("forward_endpoint is not set: nowhere to send to")
    if config.forward_protocol == "grpc":
        return GrpcSender(config)
    from otlp_arrow.forward.http_sender import HttpSender  # it builds on this module

    return HttpSender(config)


def rejected_items(signal: Signal, response: Message) -> tuple[int, str]:
    """What a response's ``partial_success`` says: items rejected, and the message."""
    partial = response.partial_success  # type: ignore[attr-defined]
    return int(getattr(partial, SERVICES[signal].rejected_field)), str(partial.error_message)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) in seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def ca_path(path: Path | None) -> str | None:
    """``forward_ca_file`` as a path for ``ssl``; ConfigError if it is not a readable file."""
    if path is None:
        return None
    if not path.is_file():
        raise ConfigError(f"forward_ca_file {path} is not a readable file")
    return str(path)


class GrpcSender:
    """OTLP/gRPC: the ``Export`` method of the signal's collector service."""

    RETRYABLE = frozenset(
        {"UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED", "CANCELLED", "OUT_OF_RANGE", "DATA_LOSS"}
    )

    def __init__(self, config: Config) -> None:
        import grpc

        self._grpc = grpc
        url = urlsplit(config.forward_endpoint)
        target = (
            url.netloc if url.port else f"{url.netloc}:{443 if url.scheme == 'https' else 4317}"
        )
        if url.scheme == "https":
            ca = ca_path(config.forward_ca_file)
            roots = Path(ca).read_bytes() if ca else None
            self.channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(roots))
        else:
            self.channel = grpc.insecure_channel(target)
        self.timeout = config.forward_timeout
        self.metadata = [(name.lower(), value) for name, value in auth_headers(config)]
        self.secrets = secret_texts(config)
        self.compression = (
            grpc.Compression.Gzip
            if config.forward_compression == "gzip"
            else grpc.Compression.NoCompression
        )
        self.calls: dict[str, Any] = {
            signal: self.channel.unary_unary(
                export_method(signal),
                request_serializer=bytes,  # requests arrive serialized
                response_deserializer=service.response.FromString,
            )
            for signal, service in SERVICES.items()
        }

    def send(self, signal: Signal, request: bytes) -> Outcome:
        try:
            response = self.calls[signal](
                request,
                timeout=self.timeout,
                metadata=self.metadata,
                compression=self.compression,
            )
        except self._grpc.RpcError as exc:
            return self._failed(exc)
        rejected, message = rejected_items(signal, response)
        return Outcome(True, rejected=rejected, message=scrub(message, self.secrets))

    def _failed(self, exc: Any) -> Outcome:
        code = exc.code().name if exc.code() is not None else "UNKNOWN"
        delay = _retry_info(exc)
        retryable = code in self.RETRYABLE or (code == "RESOURCE_EXHAUSTED" and delay is not None)
        details = str(exc.details() or "")
        return Outcome(
            False,
            retryable,
            retry_after=delay,
            message=scrub(f"gRPC {code}: {details}".rstrip(": "), self.secrets),
            kind=code,
            unresolvable=code == "UNAVAILABLE" and _RESOLVE_FAILED.search(details) is not None,
        )

    def close(self) -> None:
        self.channel.close()


def _retry_info(exc: Any) -> float | None:
    """The delay of a ``google.rpc.RetryInfo`` in the error's status details, if any."""
    from google.rpc.error_details_pb2 import RetryInfo

    for key, value in exc.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        try:
            status = Status.FromString(value)
        except DecodeError:
            return None
        for detail in status.details:
            if detail.Is(RetryInfo.DESCRIPTOR):
                info = RetryInfo()
                detail.Unpack(info)
                return float(info.retry_delay.seconds + info.retry_delay.nanos / 1e9)
    return None

"""OTLP/HTTP: ``POST <endpoint>/v1/<signal>`` over one kept-alive connection (urllib3).

A new connection per request would cost a TCP and a TLS handshake each: round trips to a
remote endpoint. The proxy is the one the environment names for the endpoint's scheme
(``HTTPS_PROXY``, ``HTTP_PROXY``; not for the hosts of ``NO_PROXY``), found by the standard
library as ``urllib`` finds it; its ``user:password`` becomes a ``Proxy-Authorization``
header and is never shown. A connection the endpoint closed while idle is replaced at once:
a request that finds it closed before any answer is sent again once on a new one. Redirects
are not followed (a redirected POST would lose its body): a 3xx is a permanent failure.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import socket
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass

import urllib3
from google.protobuf.message import DecodeError
from google.rpc.status_pb2 import Status

from otlp_arrow._version import __version__
from otlp_arrow.config import Config
from otlp_arrow.errors import ConfigError
from otlp_arrow.forward.senders import (
    RETRYABLE_HTTP,
    Outcome,
    auth_headers,
    ca_path,
    rejected_items,
    retry_after_seconds,
    scrub,
    secret_texts,
)
from otlp_arrow.otlp import json_wire
from otlp_arrow.otlp.services import SERVICES
from otlp_arrow.schema import Signal

log = logging.getLogger(__name__)

#: What a connection closed by the other side before it answered looks like, at its root.
_CLOSED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class HttpSender:
    """The OTLP/HTTP :class:`~otlp_arrow.forward.senders.Sender` (protobuf or JSON)."""

    def __init__(self, config: Config) -> None:
        self.base = config.forward_endpoint
        self.json = config.forward_protocol == "http/json"
        self.gzip = config.forward_compression == "gzip"
        self.headers = dict(auth_headers(config))
        self.headers["content-type"] = "application/json" if self.json else "application/x-protobuf"
        self.headers["accept-encoding"] = "identity"  # answers are small
        self.headers["user-agent"] = f"otlp-arrow/{__version__}"
        if self.gzip:
            self.headers["content-encoding"] = "gzip"
        context = None
        if self.base.startswith("https://"):
            context = ssl.create_default_context(cafile=ca_path(config.forward_ca_file))
        self.pool, self.via, proxy_secrets = _pool(self.base, context, config.forward_timeout)
        self.secrets = tuple(sorted({*secret_texts(config), *proxy_secrets}, key=len, reverse=True))

    def send(self, signal: Signal, request: bytes) -> Outcome:
        body = request
        if self.json:  # OTLP/JSON is written from the message (parsed by upb: fast)
            body = json_wire.encode_request(SERVICES[signal].request.FromString(request))
        if self.gzip:
            body = gzip.compress(body, compresslevel=5)
        try:
            response = self._post(f"{self.base}/v1/{signal}", body)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return self._unreachable(exc)
        if response.status >= 300:
            return self._failed(response)
        rejected, message = self._partial(signal, response.data, _header(response, "content-type"))
        return Outcome(True, rejected=rejected, message=scrub(message, self.secrets))

    def _post(self, url: str, body: bytes) -> urllib3.BaseHTTPResponse:
        try:
            return self._request(url, body)
        except urllib3.exceptions.ProtocolError as exc:
            if not _closed_before_answer(exc):
                raise
            log.debug("%s closed the connection before answering; sending on a new one", url)
            return self._request(url, body)

    def _request(self, url: str, body: bytes) -> urllib3.BaseHTTPResponse:
        return self.pool.request(
            "POST",
            url,
            body=body,
            headers=self.headers,
            retries=False,
            redirect=False,
            decode_content=False,  # identity asked for; a body we cannot read is no loss
        )

    def _unreachable(self, exc: BaseException) -> Outcome:
        reason = _root(exc)
        if isinstance(reason, ssl.SSLCertVerificationError):
            return Outcome(False, False, message=f"TLS: {reason.verify_message}", kind="TLS")
        if isinstance(reason, socket.gaierror):
            return Outcome(
                False,
                True,
                message=f"cannot resolve the host name of {self.base}{self.via}: {reason.strerror}",
                kind="unresolvable",
                unresolvable=True,
            )
        message = scrub(f"cannot reach {self.base}{self.via}: {reason}", self.secrets)
        return Outcome(False, True, message=message, kind="unreachable")

    def _partial(self, signal: Signal, answer: bytes, kind: str) -> tuple[int, str]:
        if not answer:
            return 0, ""
        response_type = SERVICES[signal].response
        try:
            if kind.startswith("application/json"):
                response = json_wire.parse(answer, response_type)
            else:
                response = response_type.FromString(answer)
        except (ValueError, DecodeError):
            return 0, ""
        return rejected_items(signal, response)

    def _failed(self, response: urllib3.BaseHTTPResponse) -> Outcome:
        detail = ""
        body = response.data
        try:
            if _header(response, "content-type").startswith("application/x-protobuf"):
                detail = Status.FromString(body).message
            elif body:
                detail = body.decode("utf-8", "replace")[:200]
        except DecodeError:
            pass
        message = f"HTTP {response.status} {response.reason or ''}".rstrip()
        message = scrub(message + (f": {detail}" if detail else ""), self.secrets)
        return Outcome(
            False,
            response.status in RETRYABLE_HTTP,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
            message=message,
            kind=f"HTTP {response.status}",
        )

    def close(self) -> None:
        self.pool.clear()


def _pool(
    base: str, context: ssl.SSLContext | None, timeout: float
) -> tuple[urllib3.PoolManager, str, tuple[str, ...]]:
    """One kept-alive connection to ``base`` (waited for if another thread has it), through
    the environment's proxy for it if any; with " through the proxy host:port" for messages,
    and the proxy's credentials (for scrubbing)."""
    options: dict[str, Any] = {
        "num_pools": 1,
        "maxsize": 1,
        "block": True,
        "ssl_context": context,
        "timeout": urllib3.Timeout(connect=timeout, read=timeout),
    }
    parts = urlsplit(base)
    proxy = None if proxy_bypass(parts.netloc) else getproxies().get(parts.scheme)
    if not proxy:
        return urllib3.PoolManager(**options), "", ()
    if "://" not in proxy:  # "proxy.corp:3128", as urllib takes it
        proxy = f"http://{proxy}"
    where = urlsplit(proxy)
    if where.scheme not in ("http", "https"):
        raise ConfigError(
            f"the environment names a {where.scheme}:// proxy for {parts.scheme}:// endpoints; "
            "forwarding goes through HTTP proxies only (NO_PROXY with the endpoint's host "
            "sends directly)"
        )
    host = where.netloc.rpartition("@")[2]
    secrets: tuple[str, ...] = ()
    if where.username is not None:
        pair = f"{unquote(where.username)}:{unquote(where.password or '')}"
        options["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=pair)
        secrets = tuple(t for t in (pair, pair.partition(":")[2]) if len(t) >= 3)
    manager = urllib3.ProxyManager(urlunsplit((where.scheme, host, "", "", "")), **options)
    return manager, f" through the proxy {host}", secrets


def _closed_before_answer(exc: urllib3.exceptions.ProtocolError) -> bool:
    """True when the connection was closed before any answer ("Connection aborted", not
    "Connection broken" partway through a body): the endpoint did not take the request."""
    return (
        bool(exc.args) and exc.args[0] == "Connection aborted." and isinstance(_root(exc), _CLOSED)
    )


def _root(exc: BaseException) -> BaseException:
    """The first cause of ``exc`` that urllib3 wrapped (an OSError, an ssl error)."""
    for _ in range(8):  # a few levels at most; never loop on a cycle of causes
        inner = exc.__cause__ or next((a for a in exc.args if isinstance(a, BaseException)), None)
        if inner is None:
            break
        exc = inner
    return exc


def _header(response: urllib3.BaseHTTPResponse, name: str) -> str:
    return str(response.headers.get(name, ""))

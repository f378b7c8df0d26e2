"""The viewer's web app: its own static assets and a read-only JSON API, nothing else.

No part of a request ever names a file: the assets are read from the package once, at start,
into a fixed table; the data comes from the :class:`~otlp_arrow.query.Store` of the one
output directory given at start. Only GET and HEAD are allowed. Every response carries a
strict Content-Security-Policy (own scripts and styles only), ``X-Frame-Options: DENY`` and
``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from otlp_arrow.errors import ConversionError
from otlp_arrow.query import Store, parse_trace_id
from otlp_arrow.receivers.auth import Authenticator
from otlp_arrow.viewer import queries
from otlp_arrow.viewer.guard import Guard

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}

#: URL path -> (packaged file, content type). Nothing else is ever served from the package.
#: The scripts are classic scripts that index.html loads in this order.
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/assets/dom.js": ("dom.js", "text/javascript; charset=utf-8"),
    "/assets/api.js": ("api.js", "text/javascript; charset=utf-8"),
    "/assets/traces.js": ("traces.js", "text/javascript; charset=utf-8"),
    "/assets/metrics.js": ("metrics.js", "text/javascript; charset=utf-8"),
    "/assets/logs.js": ("logs.js", "text/javascript; charset=utf-8"),
    "/assets/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/assets/app.css": ("app.css", "text/css; charset=utf-8"),
}


class BadRequestError(ValueError):
    """A query parameter the API cannot use; answered with 400 and the message."""


class _SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode() not in SECURITY_HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    store: Store,
    *,
    auth: Authenticator | None = None,
    host_ok: Callable[[str | None], bool] = lambda host: True,
    query_timeout: float = 10.0,
    memory_limit: int = 512 * 1024**2,
) -> ASGIApp:
    """The viewer for ``store``; ``auth`` guards the data API, ``host_ok`` says which
    ``Host`` headers are answered (see :mod:`otlp_arrow.viewer.guard`). A query runs at most
    ``query_timeout`` seconds with DuckDB's ``memory_limit`` (bytes); beyond, 503."""
    files = resources.files("otlp_arrow.viewer") / "static"
    assets = {path: ((files / name).read_bytes(), kind) for path, (name, kind) in ASSETS.items()}

    def asset(path: str) -> Callable[[Request], Any]:
        body, kind = assets[path]

        async def serve(request: Request) -> Response:
            return Response(body, media_type=kind, headers={"cache-control": "no-cache"})

        return serve

    def endpoint(handler: Callable[[Any, Request], Any]) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            def answer() -> Any:
                # questions about one trace: objects read only where their Bloom filters
                # may hold it (the handler filters by that trace id in every query)
                name = _BY_TRACE.get(handler)
                trace_id = None if name is None else _trace_id(_text(request, name), name)
                return store.with_duckdb(
                    lambda con: _bounded(con, query_timeout, memory_limit, handler, request),
                    trace_id=trace_id,
                )

            try:
                result = await run_in_threadpool(answer)
            except BadRequestError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            except _TooCostlyError as exc:
                return JSONResponse({"error": str(exc)}, status_code=503)
            return JSONResponse(result, headers={"cache-control": "no-store"})

        return run

    routes = [Route(path, asset(path), methods=["GET", "HEAD"]) for path in ASSETS]
    routes += [
        Route(f"/api/{name}", endpoint(handler), methods=["GET", "HEAD"])
        for name, handler in _API.items()
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_allowed})
    return _SecurityHeaders(Guard(app, host_ok, auth))


class _TooCostlyError(Exception):
    """A query stopped at the viewer's time or memory limit."""


def _bounded(
    con: Any,
    timeout: float,
    memory_limit: int,
    handler: Callable[[Any, Request], Any],
    request: Request,
) -> Any:
    """``handler(con, request)`` within DuckDB's ``memory_limit``, interrupted after
    ``timeout`` seconds."""
    import duckdb

    con.execute(f"SET memory_limit = '{max(1, memory_limit // 1024**2)}MiB'")
    timer = threading.Timer(timeout, con.interrupt)
    timer.start()
    try:
        return handler(con, request)
    except duckdb.InterruptException:
        raise _TooCostlyError(
            f"the query took longer than {timeout:g}s (viewer_query_timeout): narrow it down"
        ) from None
    except duckdb.OutOfMemoryException:
        raise _TooCostlyError(
            "the query needs more memory than viewer_memory_limit: narrow it down"
        ) from None
    finally:
        timer.cancel()


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "not found"}, status_code=404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {"error": "the viewer is read-only: GET only"},
        status_code=405,
        headers={"allow": "GET, HEAD"},
    )


def _text(request: Request, name: str, limit: int = 500) -> str | None:
    value = request.query_params.get(name, "").strip()
    if len(value) > limit:
        raise BadRequestError(f"{name} is longer than {limit} characters")
    return value or None


def _int(request: Request, name: str, low: int, high: int, default: int | None) -> int | None:
    text = _text(request, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequestError(f"{name}={text!r} is not a whole number") from None
    if not low <= value <= high:
        raise BadRequestError(f"{name}={value} is out of range ({low}..{high})")
    return value


def _flag(request: Request, name: str) -> bool:
    text = (_text(request, name) or "0").lower()
    if text not in ("1", "true", "0", "false"):
        raise BadRequestError(f"{name}={text!r}: expected 1, true, 0 or false")
    return text in ("1", "true")


def _page(request: Request) -> tuple[int, int]:
    limit = _int(request, "limit", 1, queries.MAX_LIMIT, 50)
    offset = _int(request, "offset", 0, 10**9, 0)
    assert limit is not None and offset is not None
    return limit, offset


def _time_range(request: Request) -> queries.TimeRange:
    """``since``/``until`` in milliseconds since the epoch."""
    since = _int(request, "since", 0, 2**42, None)
    until = _int(request, "until", 0, 2**42, None)
    return queries.TimeRange(
        since * 1_000_000 if since is not None else None,
        until * 1_000_000 if until is not None else None,
    )


def _trace_id(text: str | None, name: str = "trace_id") -> bytes | None:
    if text is None:
        return None
    try:
        return parse_trace_id(text, name)
    except ConversionError as exc:
        raise BadRequestError(str(exc)) from None


def _status(con: Any, request: Request) -> Any:
    return queries.status(con)


def _services(con: Any, request: Request) -> Any:
    return {
        "services": queries.services(con),
        "span_names": queries.span_names(con, _text(request, "service")),
    }


def _traces(con: Any, request: Request) -> Any:
    limit, offset = _page(request)
    min_ms = _int(request, "min_ms", 0, 10**9, None)
    return queries.search_traces(
        con,
        service=_text(request, "service"),
        name=_text(request, "name"),
        errors_only=_flag(request, "errors"),
        min_duration_ns=min_ms * 1_000_000 if min_ms else None,
        time_range=_time_range(request),
        limit=limit,
        offset=offset,
    )


def _trace(con: Any, request: Request) -> Any:
    trace_id = _trace_id(_text(request, "id"), "id")
    if trace_id is None:
        raise BadRequestError("id (the trace id, 32 hex digits) is required")
    return queries.trace(con, trace_id)


def _metrics(con: Any, request: Request) -> Any:
    return {"metrics": queries.metric_list(con)}


def _metric(con: Any, request: Request) -> Any:
    name = _text(request, "name")
    if name is None:
        raise BadRequestError("name (the metric name) is required")
    return queries.metric_series(con, name, _text(request, "split"), _time_range(request))


def _logs(con: Any, request: Request) -> Any:
    limit, offset = _page(request)
    return queries.search_logs(
        con,
        service=_text(request, "service"),
        min_severity=_int(request, "severity", 0, 24, None),
        text=_text(request, "q"),
        trace_id=_trace_id(_text(request, "trace_id")),
        time_range=_time_range(request),
        limit=limit,
        offset=offset,
    )


#: The handlers whose every query is about the trace named by this query parameter.
_BY_TRACE: dict[Callable[[Any, Request], Any], str] = {_trace: "id", _logs: "trace_id"}

_API: dict[str, Callable[[Any, Request], Any]] = {
    "status": _status,
    "services": _services,
    "traces": _traces,
    "trace": _trace,
    "metrics": _metrics,
    "metric": _metric,
    "logs": _logs,
}

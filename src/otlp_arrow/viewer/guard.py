"""The viewer's gate (ASGI middleware): the ``Host`` check against DNS rebinding on every
request, and the bearer token on the data API (``/api/...``) when tokens are set. The page
and its assets hold no data and load without a token; the page asks for one on the first
401 and keeps it in ``sessionStorage`` for the browser tab (never in a URL)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from otlp_arrow.receivers.auth import Authenticator


class Guard:
    """``host_ok(host_header)`` decides which hosts are answered; ``auth`` guards the API."""

    def __init__(
        self, app: ASGIApp, host_ok: Callable[[str | None], bool], auth: Authenticator | None
    ) -> None:
        self.app, self.host_ok, self.auth = app, host_ok, auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if not self.host_ok(headers.get("host")):
            answer = JSONResponse({"error": "this host name is not served"}, status_code=421)
            await answer(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        auth = self.auth
        if (
            auth is not None
            and path.startswith("/api/")
            and not auth.check(headers.get("authorization"))
        ):
            client = scope.get("client")
            auth.refused(str(client[0]) if client else "(unknown)", f"viewer {path}")
            answer = JSONResponse(
                {"error": "a token is required"},
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

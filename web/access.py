"""Who may read the app, and the headers every answer carries: an ASGI middleware around the routes.

- Token: with one set, every request shows it, as `Authorization: Bearer T`, or once as `?token=T`,
  which sets an HttpOnly, SameSite=Strict cookie and redirects to the same URL without it (so the
  token leaves the address bar, the history and any Referer). The cookie holds an HMAC of the
  token, not the token. Comparisons are constant-time (hmac.compare_digest).
- Host: bound to a loopback address, the app answers only requests naming a loopback host, so a
  web page whose domain is re-pointed at 127.0.0.1 (DNS rebinding) cannot read it through the
  visitor's browser.
- Headers: a Content-Security-Policy that allows no script at all and styles only from the app,
  nosniff, no Referer to the outlets linked, no framing. Pages carry text from hostile sites:
  templates escape it; these headers are the second wall.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import urlencode

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "newsmon_session"
COOKIE_DAYS = 30
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def session_value(token: str) -> str:
    """The cookie's value for `token`: an HMAC keyed by it, so the cookie never holds the token itself."""
    return hmac.new(token.encode(), b"newsmon serve session", hashlib.sha256).hexdigest()


def host_name(header: str) -> str:
    """The host of a Host header, without its port ("[::1]:8765" -> "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Access:
    """Check the Host and the token, then add the security headers to whatever the app answers."""

    def __init__(self, app: ASGIApp, token: str | None = None, hosts: Sequence[str] | None = None) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token) if token else None
        self.hosts = {h.lower() for h in hosts} if hosts is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        refusal = self._refusal(Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, request: Request) -> Response | None:
        if self.hosts is not None and host_name(request.headers.get("host", "")) not in self.hosts:
            return PlainTextResponse("400: this server answers only to a loopback host name.\n", 400)
        if self.token is None or self.session is None:
            return None
        bearer = request.headers.get("authorization", "")
        if bearer[:7].lower() == "bearer " and _same(bearer[7:].strip(), self.token):
            return None
        if _same(request.cookies.get(COOKIE, ""), self.session):
            return None
        given = request.query_params.get("token")
        if given is not None and _same(given, self.token):
            return self._set_cookie(request)
        return PlainTextResponse(
            "401: this newsmon serve needs its token: open the page once as /?token=TOKEN "
            "(a cookie keeps you in), or send the header Authorization: Bearer TOKEN.\n", 401,
            headers={"WWW-Authenticate": 'Bearer realm="newsmon"'})

    def _set_cookie(self, request: Request) -> Response:
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        # A path, not an absolute URL: the Location never echoes the Host header back.
        # One leading slash: "//host/x" would send the browser to another site.
        target = "/" + request.url.path.lstrip("/") + (f"?{urlencode(rest)}" if rest else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, self.session or "", max_age=COOKIE_DAYS * 86400, path="/", httponly=True,
                            samesite="strict")
        return response


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())

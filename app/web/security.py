"""Safe defaults for the page: opt-in basic auth (DIGITREC_APP_AUTH=user:password), a strict
Content-Security-Policy on every response, and a double-submit CSRF token for writes."""

from __future__ import annotations

import base64
import binascii
import os
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

AUTH_ENV = "DIGITREC_APP_AUTH"
CSRF_COOKIE = "digitrec_csrf"
CSRF_HEADER = "x-csrf-token"
OPEN_PATHS = ("/healthz",)  # liveness probes need no credentials and reveal nothing
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def auth_from_env() -> tuple[str, str] | None:
    """(user, password) from DIGITREC_APP_AUTH, None when unset; refuses a malformed value."""
    value = os.environ.get(AUTH_ENV, "")
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise ValueError(f"{AUTH_ENV} must be user:password")
    return user, password


def authorized(header: str | None, credentials: tuple[str, str]) -> bool:
    """Whether an Authorization header carries the credentials (constant-time compare)."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = f"{credentials[0]}:{credentials[1]}"
    return secrets.compare_digest(given.encode(), expected.encode())


class Guard:
    """ASGI middleware: basic auth when configured, then security headers on every response."""

    def __init__(self, app: ASGIApp, credentials: tuple[str, str] | None):
        self.app, self.credentials = app, credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        needs_auth = self.credentials is not None and scope["path"] not in OPEN_PATHS
        if needs_auth and not authorized(request.headers.get("authorization"), self.credentials):
            refusal = JSONResponse(
                {"error": "authentication required"},
                401,
                {"WWW-Authenticate": 'Basic realm="digitrec", charset="UTF-8"', **HEADERS},
            )
            await refusal(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.lower().encode(), v.encode())
                    for k, v in HEADERS.items()
                    if k.lower().encode() not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(request: Request) -> str:
    """The browser's token (from its cookie), or a fresh one to set."""
    token = request.cookies.get(CSRF_COOKIE, "")
    return (
        token
        if len(token) == 43 and token.replace("-", "").replace("_", "").isalnum()
        else (secrets.token_urlsafe(32))
    )


def set_csrf_cookie(response: Response, token: str) -> None:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")


def csrf_ok(request: Request) -> bool:
    """Double submit: the header the page's script sends equals the cookie the server set."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    return bool(cookie) and secrets.compare_digest(cookie.encode(), header.encode())

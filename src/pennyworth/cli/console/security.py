"""What makes the console safe to run on a shared machine: loopback only, a per-run token, CSRF-proof forms.

- The server binds 127.0.0.1 and answers only requests whose `Host` is that address or `localhost` on its port
  (a web page cannot reach it through DNS rebinding).
- The URL it prints carries a random per-run token. The first request with it gets an HttpOnly, SameSite=Strict
  cookie holding the token and is redirected to the same page without it (so it leaves the address bar and
  the history); every request after that must carry the cookie. Without it: 403.
- Every form carries a CSRF value derived from the token; a POST without it, or from another origin, is
  refused. Pages are sent with `no-store` and a Content-Security-Policy that allows only the console's own
  script and style.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

COOKIE = "pennyworth_console"
MAX_FORM_BYTES = 64 * 1024  # the console's forms are a few short fields (read without python-multipart)
CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'"


@dataclass(frozen=True)
class Gate:
    """The per-run secret and what is derived from it."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def csrf(self) -> str:
        return hmac.new(self.token.encode(), b"csrf", hashlib.sha256).hexdigest()

    @property
    def origins(self) -> frozenset[str]:
        return frozenset({f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"})

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}?{urlencode({'token': self.token})}"

    def host_ok(self, host: str | None) -> bool:
        return host is not None and f"http://{host}" in self.origins

    def token_ok(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.token.encode())

    def csrf_ok(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.csrf.encode())


def _denied(reason: str) -> Response:
    text = f"Forbidden: {reason}. Open the URL that `pennyworth console` printed."
    return PlainTextResponse(text, status_code=403, headers={"Cache-Control": "no-store"})


async def guard(
    gate: Gate, request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Starlette HTTP middleware body: host check, token → cookie exchange, cookie check, same origin on POST.

    (The form's CSRF value is checked where the form is read: `checked_form`.)"""
    if not gate.host_ok(request.headers.get("host")):
        return _denied("unexpected Host header")
    query_token = request.query_params.get("token")
    if query_token is not None:
        if not gate.token_ok(query_token):
            return _denied("wrong token")
        rest = [(k, v) for k, v in parse_qsl(request.url.query) if k != "token"]
        target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
        redirect = RedirectResponse(target, status_code=303)
        redirect.set_cookie(COOKIE, gate.token, httponly=True, samesite="strict", path="/")
        return redirect
    if not gate.token_ok(request.cookies.get(COOKIE)):
        return _denied("missing or wrong console token")
    if request.method not in ("GET", "HEAD"):
        origin = request.headers.get("origin")
        if origin is not None and origin not in gate.origins:
            return _denied("cross-origin form")
    response = await call_next(request)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"  # (no-referrer would make forms send `Origin: null`)
    return response


async def checked_form(gate: Gate, request: Request) -> dict[str, str] | None:
    """The POSTed form's fields when its CSRF value is right, else None."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return None
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    fields = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return fields if gate.csrf_ok(fields.get("csrf")) else None

"""Who may write, and from where.

Writes (approve, reject, feedback) need the dashboard token of the settings; with none set
the dashboard is read-only. The JSON API takes it as `Authorization: Bearer <token>`, which
a browser never adds on its own, so another site cannot forge such a request. Pages take it
once on the sign-in form, which sets a signed (itsdangerous), expiring, HttpOnly,
SameSite=Strict cookie; each form then carries a CSRF token tied to that cookie, and the
request must come from this origin.

Reads are open, but only under an allowed `Host` (DNS rebinding: a page on another site
whose name resolves to 127.0.0.1 would otherwise read every diff and transcript), and every
page carries a Content-Security-Policy that allows this origin's own scripts and nothing
else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from corral.web.settings import SESSION_MAX_AGE_S

SESSION_COOKIE = "corral_session"


class WriteRefused(Exception):
    """A write without the right token, CSRF token or origin (`status` 401 or 403), or one
    that cannot be done (409)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Signer:
    """Signs sessions and derives CSRF tokens with the dashboard token as the key."""

    token: str
    max_age_s: int = SESSION_MAX_AGE_S

    def matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def new_session(self, name: str) -> str:
        return self._sessions().dumps({"nonce": secrets.token_urlsafe(16), "by": name})

    def session(self, cookie: str | None) -> dict[str, str] | None:
        """The session a cookie holds, if this server signed it with this token and it has
        not expired."""
        if not cookie:
            return None
        try:
            data = self._sessions().loads(cookie, max_age=self.max_age_s)
        except BadSignature:  # tampered, signed with another token, or expired
            return None
        if not isinstance(data, dict) or not {"nonce", "by"} <= data.keys():
            return None
        return {"nonce": str(data["nonce"]), "by": str(data["by"])}

    def _sessions(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.token, salt="corral-dashboard-session")

    def csrf(self, session: dict[str, str]) -> str:
        return self._mac("csrf:" + session["nonce"])

    def _mac(self, message: str) -> str:
        digest = hmac.new(self.token.encode(), message.encode(), hashlib.sha256).digest()
        return _b64(digest)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def signer_or_refuse(token: str | None) -> Signer:
    if not token:
        raise WriteRefused(
            403, "this dashboard is read-only: set CORRAL_DASHBOARD_TOKEN to allow writes"
        )
    return Signer(token)


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
"""Only this origin's files: no inline script, no other site, no framing."""


def host_name(header: str | None) -> str:
    """The name in a `Host` header, lower-cased, without port or IPv6 brackets."""
    value = (header or "").strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    return "*" in allowed or host_name(header) in allowed


def check_same_origin(request: Request) -> None:
    """Refuse a browser request sent from another site (or whose origin cannot be told)."""
    origin = request.headers.get("origin") or _origin_of(request.headers.get("referer"))
    if origin is None:
        site = request.headers.get("sec-fetch-site")
        if site in ("same-origin", "none"):
            return
        raise WriteRefused(403, "refused: the request does not say where it comes from")
    if origin != _own_origin(request):
        raise WriteRefused(403, f"refused: a request from {origin} (another site)")


def form_user(request: Request, token: str | None, csrf_token: str | None) -> str:
    """For the pages' forms: a signed session, its CSRF token, and this very origin."""
    signer = signer_or_refuse(token)
    check_same_origin(request)
    session = signer.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise WriteRefused(401, "sign in with the dashboard token first")
    if not csrf_token or not hmac.compare_digest(csrf_token, signer.csrf(session)):
        raise WriteRefused(403, "refused: the form's CSRF token is missing or wrong")
    return session["by"]


def page_session(request: Request, token: str | None) -> tuple[str | None, str | None]:
    """(who is signed in, the CSRF token for their forms), or (None, None)."""
    if not token:
        return None, None
    signer = Signer(token)
    session = signer.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None, None
    return session["by"], signer.csrf(session)


def _own_origin(request: Request) -> str:
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}"


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None

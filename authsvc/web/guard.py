"""What every account-page response carries, and the checks every form post passes.

The page is server-rendered HTML with one same-origin script, so the Content-Security-Policy
allows nothing else: no inline script or style, no framing, forms posting only to this origin
(CSP Level 3). State-changing requests are POSTs carrying the session's CSRF token (the
synchronizer token pattern) from this origin; the session cookie is SameSite=Lax on top.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import web

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it Chromium sends "Origin: null" on form posts, and same_origin()
    # could no longer tell the page's own posts from forged ones. same-origin sends no Referer
    # to other sites (the provider sees none).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages show secrets (a new token) and personal data: never store them in any cache.
    "Cache-Control": "no-store",
}


def secure_headers(response: web.StreamResponse) -> web.StreamResponse:
    """Add the page's security headers to ``response``."""
    response.headers.update(SECURITY_HEADERS)
    return response


def set_cookie(response: web.StreamResponse, name: str, value: str, *, max_age: int) -> None:
    """A cookie only this site's pages and requests see: HttpOnly, Secure, SameSite=Lax.

    Browsers accept Secure cookies from http://localhost too, so development works unchanged.
    """
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, secure=True, samesite="Lax"
    )


def clear_cookie(response: web.StreamResponse, name: str) -> None:
    """Remove a cookie set by ``set_cookie``."""
    response.del_cookie(name, path="/")


def same_origin(request: web.Request) -> bool:
    """False when the browser says the request came from another origin (Fetch's Origin header).

    Browsers send Origin with every POST; its host must be the one the request was sent to.
    A request without Origin (not a browser) is left to the CSRF token.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc == request.host


def csrf_ok(expected: str, presented: object) -> bool:
    """Whether a form carried the session's CSRF token (compared in constant time)."""
    return (
        isinstance(presented, str)
        and bool(expected)
        and hmac.compare_digest(expected.encode(), presented.encode())
    )

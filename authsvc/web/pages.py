"""The account page's routes: sign-in with OpenID Connect or a password, the page, sign-out.

``GET /login`` sends the browser to the OpenID provider and ``GET /login/callback`` brings it
back (authorization code flow with PKCE, see ``authsvc.web.oidc``). ``POST /login/password``
signs a local or directory user in through the same authenticator chain as ``/auth``.
``GET /account`` shows who the user is and their credentials; its forms post back under
``/account``. Every page carries the headers of ``authsvc.web.guard``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from authsvc import store
from authsvc.appkeys import AUTHENTICATORS, CONFIG, OIDC, SESSIONMAKER, WEB_SESSIONS
from authsvc.authn.provisioning import provision_user
from authsvc.authn.types import BackendUnavailable, CredentialKind, Credentials
from authsvc.errors import AuthError, ErrorCode
from authsvc.handlers.audit_trail import request_address
from authsvc.web import account
from authsvc.web.claims import ClaimError, identity_from_claims
from authsvc.web.guard import clear_cookie, csrf_ok, same_origin, secure_headers, set_cookie
from authsvc.web.oidc import ProviderUnavailable, SignInRefused
from authsvc.web.sessions import SESSION_COOKIE, SIGNIN_COOKIE, SIGNIN_TTL

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

# The sign-in form's CSRF token: a double-submit cookie, since there is no session yet.
LOGIN_CSRF_COOKIE = "authsvc_login_csrf"
RETRY_AFTER = "5"
SOURCE_OIDC = "oidc"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    """Render a page with the security headers and the realm name."""
    context = {"realm": request.app[CONFIG].server.realm, "user": None, **context}
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    secure_headers(response)
    return response


def error_page(request: web.Request, title: str, message: str, status: int) -> web.Response:
    """An error page that says what happened and how to start again."""
    response = render(request, "error.html", {"title": title, "message": message}, status)
    if status == 503:
        response.headers["Retry-After"] = RETRY_AFTER
    return response


def page(handler: Handler) -> Handler:
    """Answer outages with a readable 503 page rather than the API's JSON envelope."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except account.PageError as exc:
            return error_page(request, exc.title, exc.message, exc.status)
        except (store.StoreUnavailable, BackendUnavailable, ProviderUnavailable) as exc:
            log.warning("account page: %s unavailable: %s", type(exc).__name__, exc)
            return error_page(
                request,
                "Temporarily unavailable",
                "A service this page needs is not answering. Try again in a few seconds.",
                503,
            )

    return wrapped


ViewerHandler = Callable[[web.Request, account.Viewer], Awaitable[web.StreamResponse]]


def form_action(handler: ViewerHandler) -> Handler:
    """A form post of a signed-in viewer (CSRF-checked); without a session, back to the page."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        viewer = await account.checked_viewer(request)
        if viewer is None:
            return redirect("/account")
        return await handler(request, viewer)

    return wrapped


def redirect(location: str) -> web.Response:
    """A 303 See Other (the answer to a form post) with the page headers."""
    response = web.Response(status=303, headers={"Location": location})
    secure_headers(response)
    return response


def signin_page(request: web.Request, message: str = "", status: int = 200) -> web.Response:
    """The sign-in choice: single sign-on when configured, and the password form."""
    token = secrets.token_urlsafe(32)
    context = {
        "title": "Sign in",
        "csrf": token,
        "oidc": OIDC in request.app,
        "message": message,
    }
    response = render(request, "signin.html", context, status)
    set_cookie(response, LOGIN_CSRF_COOKIE, token, max_age=SIGNIN_TTL)
    return response


async def signed_in(request: web.Request, user_id: int) -> web.Response:
    """Start a session for ``user_id`` and go to the account page."""
    secret = await request.app[WEB_SESSIONS].start(user_id)
    response = redirect("/account")
    set_cookie(response, SESSION_COOKIE, secret, max_age=request.app[CONFIG].web.session_ttl)
    clear_cookie(response, SIGNIN_COOKIE)
    clear_cookie(response, LOGIN_CSRF_COOKIE)
    return response


@routes.get("/login")
@page
async def begin_signin(request: web.Request) -> web.StreamResponse:
    """Send the browser to the OpenID provider (or to the password form without one)."""
    oidc = request.app.get(OIDC)
    if oidc is None:
        return redirect("/account")
    url, pending = await oidc.begin()
    secret = await request.app[WEB_SESSIONS].begin_signin(pending)
    response = web.Response(status=302, headers={"Location": url})
    secure_headers(response)
    set_cookie(response, SIGNIN_COOKIE, secret, max_age=SIGNIN_TTL)
    return response


@routes.get("/login/callback")
@page
async def finish_signin(request: web.Request) -> web.StreamResponse:
    """Check the provider's answer, create or update the user, start a session."""
    oidc = request.app.get(OIDC)
    if oidc is None:
        raise web.HTTPNotFound()
    pending = await request.app[WEB_SESSIONS].take_signin(request.cookies.get(SIGNIN_COOKIE, ""))
    if pending is None:
        return error_page(
            request,
            "Sign-in expired",
            "This sign-in was already used, has expired, or was started in another browser. "
            "Please sign in again.",
            400,
        )
    try:
        claims = await oidc.finish(pending, request.query)
        config = request.app[CONFIG].oidc
        name, groups = identity_from_claims(claims, config.username_claim, config.groups_claim)
    except (SignInRefused, ClaimError) as exc:
        log.info("oidc sign-in refused: %s", exc)
        return error_page(request, "Sign-in failed", str(exc), 400)
    user = await provision_user(request.app[SESSIONMAKER], name, SOURCE_OIDC, groups)
    if not isinstance(user, store.UserRecord):
        return error_page(request, "Sign-in refused", f"{name}: {user.message}", 403)
    return await signed_in(request, user.id)


@routes.post("/login/password")
@page
async def password_signin(request: web.Request) -> web.StreamResponse:
    """Sign in with a user name and password through the authenticator chain."""
    form = await request.post()
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not same_origin(request) or not csrf_ok(cookie, form.get("csrf")):
        return signin_page(request, "The form expired. Please sign in again.", 403)
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        return signin_page(request, "Enter your user name and password.", 400)
    service = request.app[CONFIG].token.services[0]
    address = request_address(request)
    credentials = Credentials(CredentialKind.PASSWORD, username, password, service, address)
    try:
        identity = await request.app[AUTHENTICATORS].authenticate(credentials)
    except AuthError as exc:
        if exc.code is ErrorCode.UNAUTHORIZED:
            return signin_page(request, "Wrong user name or password.", 401)
        # Throttled, or a backend refusing service: say so, with the status the API gives.
        response = signin_page(request, exc.message, exc.code.status)
        response.headers.update(exc.headers)
        return response
    if identity.user_id is None:
        return signin_page(request, "This account cannot sign in here.", 403)
    return await signed_in(request, identity.user_id)


@routes.get("/account")
@page
async def show_account(request: web.Request) -> web.StreamResponse:
    """The account page, or the sign-in page without a session."""
    viewer = await account.current_viewer(request)
    if viewer is None:
        return signin_page(request)
    return render(request, "account.html", await account.page_context(request, viewer))


@routes.post("/account/refresh-tokens/{token_id:[0-9]{1,18}}/revoke")
@page
@form_action
async def revoke_refresh_token(request: web.Request, viewer: account.Viewer) -> web.StreamResponse:
    """Revoke one of the viewer's refresh tokens."""
    await account.revoke_own_refresh_token(request, viewer, int(request.match_info["token_id"]))
    return redirect("/account")


@routes.post("/account/tokens")
@page
@form_action
async def create_token(request: web.Request, viewer: account.Viewer) -> web.StreamResponse:
    """Create a personal access token and show its secret once (never through a redirect)."""
    context = await account.create_pat(request, viewer)
    return render(request, "account.html", context, 200 if not context["message"] else 400)


@routes.post("/account/tokens/{pat_id:[0-9]{1,18}}/revoke")
@page
@form_action
async def revoke_token(request: web.Request, viewer: account.Viewer) -> web.StreamResponse:
    """Revoke one of the viewer's personal access tokens."""
    await account.revoke_own_pat(request, viewer, int(request.match_info["pat_id"]))
    return redirect("/account")


@routes.post("/logout")
@page
async def sign_out(request: web.Request) -> web.StreamResponse:
    """End the session."""
    viewer = await account.checked_viewer(request)
    if viewer is not None:
        await request.app[WEB_SESSIONS].end(request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/account")
    clear_cookie(response, SESSION_COOKIE)
    return response


@routes.get("/account/static/{name:(style\\.css|copy\\.js)}")
async def static_file(request: web.Request) -> web.StreamResponse:
    """The page's stylesheet and its one script (fixed names: no path from the URL)."""
    name = request.match_info["name"]
    response = web.FileResponse(account.STATIC / name)
    response.headers.update({"X-Content-Type-Options": "nosniff", "Cache-Control": "max-age=3600"})
    return response

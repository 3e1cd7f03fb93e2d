"""The account page under test: authsvc on a fixed loopback port, with the test OpenID provider.

The provider must know the exact redirect URI before it starts, so authsvc's port is picked
once per session and every test runs its own app on it in turn.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

import aiohttp
from aiohttp import web

from authsvc.app import create_app
from authsvc.appkeys import SESSIONMAKER
from authsvc.config import Config, OidcConfig, WebConfig
from tests.authsvc.tokenhelpers import KeyPair, Seeder, make_config
from tests.oidc_provider.launcher import OidcProvider

REGISTRY = "registry.example.test:5000"
SSO_USERS = {
    "alice": {
        "password": "alice-sso-pw",
        "claims": {
            "preferred_username": "alice",
            "email": "alice@example.test",
            "groups": ["devs", "ops", "@reserved-group"],
        },
    },
    "bob": {"password": "bob-sso-pw", "claims": {"preferred_username": "bob", "groups": []}},
    "carol-sso": {"password": "carol-sso-pw", "claims": {"preferred_username": "carol"}},
    "nameless": {"password": "nameless-pw", "claims": {"email": "n@example.test"}},
}


@dataclass
class WebEnv:
    """A running authsvc with the account page, its base URL and a seeder on its database."""

    base: str
    app: web.Application
    seed: Seeder
    provider: OidcProvider

    def client(self) -> aiohttp.ClientSession:
        """A cookie-keeping client, as a browser: Secure cookies go to http://localhost too."""
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[self.base])
        return aiohttp.ClientSession(cookie_jar=jar)

    @property
    def provider_ssl(self) -> ssl.SSLContext:
        """Trust for the provider's certificate (the test CA only)."""
        return self.provider.ssl_context()


def web_config(
    db_url: str, keys: KeyPair, provider: OidcProvider, port: int, **oidc: object
) -> Config:
    """The token-endpoint test config plus OIDC sign-in against ``provider``."""
    base = make_config(db_url, keys)
    settings = OidcConfig(
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        redirect_url=f"http://localhost:{port}/login/callback",
        ca_file=provider.ca_file,
    )
    return dataclasses.replace(
        base,
        oidc=dataclasses.replace(settings, **oidc),  # type: ignore[arg-type]
        web=WebConfig(session_ttl=900, registry=REGISTRY),
    )


@asynccontextmanager
async def serve(config: Config, port: int, provider: OidcProvider) -> AsyncIterator[WebEnv]:
    """Run the app on ``localhost:port`` until the block ends."""
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield WebEnv(f"http://localhost:{port}", app, Seeder(app[SESSIONMAKER]), provider)
    finally:
        await runner.cleanup()


class _Forms(HTMLParser):
    """Collects each form's action and its fields' default values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1][1][values["name"]] = values.get("value", "")


def forms_of(html: str) -> list[tuple[str, dict[str, str]]]:
    """(action, fields) for every form of a page."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


async def sso_callback(env: WebEnv, http: aiohttp.ClientSession, login: str, password: str) -> str:
    """Start a sign-in, sign in at the provider, and return the callback URL (not yet visited)."""
    response = await http.get(f"{env.base}/login", allow_redirects=False)
    assert response.status == 302, await response.text()
    url = response.headers["Location"]
    callback = f"{env.base}/login/callback"
    for _ in range(12):
        response = await http.get(url, allow_redirects=False, ssl=env.provider_ssl)
        if response.status in (302, 303):
            url = urljoin(url, response.headers["Location"])
        elif response.status == 200:
            action, fields = forms_of(await response.text())[0]
            fields.update(login=login, password=password)
            response = await http.post(
                urljoin(url, action), data=fields, allow_redirects=False, ssl=env.provider_ssl
            )
            assert response.status in (302, 303), await response.text()
            url = urljoin(url, response.headers["Location"])
        else:
            raise AssertionError(f"{url}: {response.status} {await response.text()}")
        if url.startswith(callback):
            return url
    raise AssertionError("the provider never redirected back")

"""OpenID Connect sign-in against the real provider, and the attacks it must refuse.

Each test signs in at the provider with an HTTP client that keeps cookies as a browser does
(the browser test drives the same flow in Chromium). Negative cases: a tampered ``state``, a
replayed callback, a replayed code with a fresh sign-in, an ``iss`` from another issuer, a
provider that names another issuer, a provider that is down, and user names the provider
should not be able to hand out.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from authsvc import store
from authsvc.appkeys import SESSIONMAKER
from tests.authsvc.tokenhelpers import KeyPair
from tests.authsvc.web.support import WebEnv, serve, sso_callback, web_config
from tests.oidc_provider.launcher import OidcProvider


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_sign_in_creates_the_user_with_groups_and_shows_the_page(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        callback = await sso_callback(web_env, http, "alice", "alice-sso-pw")
        assert "code=" in callback and "state=" in callback and "iss=" in callback
        response = await http.get(callback)
        assert response.status == 200
        assert str(response.url) == f"{web_env.base}/account"
        page = await response.text()
        assert "Single sign-on" in page and ">devs<" in page and ">ops<" in page
        assert "@reserved-group" not in page
        # The session cookie is HttpOnly, Secure and SameSite=Lax.
        cookie = next(c for c in http.cookie_jar if c.key == "authsvc_session")
        assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    async with web_env.app[SESSIONMAKER]() as session:
        user = await store.get_user(session, "alice")
        assert user is not None and user.source == "oidc"
        assert user.password_hash == store.UNUSABLE_PASSWORD


async def test_a_second_sign_in_updates_groups_and_keeps_one_row(web_env: WebEnv) -> None:
    for _ in range(2):
        async with web_env.client() as http:
            response = await http.get(await sso_callback(web_env, http, "alice", "alice-sso-pw"))
            assert response.status == 200
    async with web_env.app[SESSIONMAKER]() as session:
        users = [u for u in await store.list_users(session) if u.name == "alice"]
    assert len(users) == 1


async def test_tampered_state_is_refused(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        callback = await sso_callback(web_env, http, "alice", "alice-sso-pw")
        response = await http.get(_with_query(callback, state="forged"))
        assert response.status == 400
        assert "does not belong to this browser session" in await response.text()
        assert "authsvc_session" not in {c.key for c in http.cookie_jar}


async def test_a_replayed_callback_is_refused(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        callback = await sso_callback(web_env, http, "alice", "alice-sso-pw")
        assert (await http.get(callback)).status == 200
        again = await http.get(callback)
        assert again.status == 400
        assert "already used" in await again.text()


async def test_a_replayed_code_with_a_fresh_sign_in_is_refused(web_env: WebEnv) -> None:
    async with web_env.client() as victim:
        stolen = await sso_callback(web_env, victim, "alice", "alice-sso-pw")
        assert (await victim.get(stolen)).status == 200
    async with web_env.client() as attacker:
        # The attacker starts their own sign-in (a valid state of their own) and injects the
        # victim's already redeemed code: the provider refuses a second redemption.
        own = await sso_callback(web_env, attacker, "bob", "bob-sso-pw")
        forged = _with_query(own, code=parse_qs(urlsplit(stolen).query)["code"][0])
        response = await attacker.get(forged)
        assert response.status == 400
        assert "did not accept the authorization code" in await response.text()


async def test_an_iss_from_another_issuer_is_refused(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        callback = await sso_callback(web_env, http, "alice", "alice-sso-pw")
        response = await http.get(_with_query(callback, iss="https://evil.example"))
        assert response.status == 400
        assert "another issuer" in await response.text()


async def test_a_provider_naming_another_issuer_is_unavailable(
    db_url: str, web_keys: KeyPair, oidc_provider: OidcProvider, web_port: int
) -> None:
    # Configured as https://localhost:PORT, the provider's discovery says https://127.0.0.1:PORT.
    wrong = oidc_provider.issuer.replace("127.0.0.1", "localhost")
    config = web_config(db_url, web_keys, oidc_provider, web_port, issuer=wrong)
    async with serve(config, web_port, oidc_provider) as env, env.client() as http:
        response = await http.get(f"{env.base}/login", allow_redirects=False)
        assert response.status == 503
        assert response.headers["Retry-After"]
        assert "Temporarily unavailable" in await response.text()


async def test_a_provider_that_is_down_gives_503(
    db_url: str, web_keys: KeyPair, oidc_provider: OidcProvider, web_port: int
) -> None:
    config = web_config(db_url, web_keys, oidc_provider, web_port, issuer="https://127.0.0.1:9")
    async with serve(config, web_port, oidc_provider) as env, env.client() as http:
        response = await http.get(f"{env.base}/login", allow_redirects=False)
        assert response.status == 503
        assert response.headers["Retry-After"]


async def test_a_token_without_the_user_name_claim_is_refused(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        response = await http.get(await sso_callback(web_env, http, "nameless", "nameless-pw"))
        assert response.status == 400
        assert "preferred_username" in await response.text()


async def test_a_local_user_of_the_same_name_keeps_their_account(web_env: WebEnv) -> None:
    # carol is a local user; a provider account that calls itself carol must not take hers over.
    async with web_env.client() as http:
        response = await http.get(await sso_callback(web_env, http, "carol-sso", "carol-sso-pw"))
        assert response.status == 403
        assert "carol" in await response.text()
        assert "authsvc_session" not in {c.key for c in http.cookie_jar}
    async with web_env.app[SESSIONMAKER]() as session:
        carol = await store.get_user(session, "carol")
    assert carol is not None and carol.source == "local"

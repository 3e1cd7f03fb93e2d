"""The account page with a password sign-in: sessions, CSRF, revoking, expiry and disabling."""

from __future__ import annotations

import aiohttp
from sqlalchemy import update

from authsvc import store
from authsvc.appkeys import SERVICES, SESSIONMAKER
from authsvc.models import WebSession, utcnow
from tests.authsvc.web.support import REGISTRY, WebEnv, forms_of


async def password_sign_in(
    env: WebEnv, http: aiohttp.ClientSession, user: str, password: str
) -> aiohttp.ClientResponse:
    """Open the sign-in page and post its password form."""
    page = await (await http.get(f"{env.base}/account")).text()
    action, fields = next(f for f in forms_of(page) if f[0] == "/login/password")
    fields.update(username=user, password=password)
    return await http.post(f"{env.base}{action}", data=fields)


async def form_fields(env: WebEnv, http: aiohttp.ClientSession, action: str) -> dict[str, str]:
    """The fields of the account page's form posting to ``action``."""
    page = await (await http.get(f"{env.base}/account")).text()
    return next(fields for act, fields in forms_of(page) if act == action)


async def docker_login(env: WebEnv, user: str, password: str) -> None:
    """What ``docker login`` does: the OAuth2 password grant, which keeps a refresh token."""
    async with aiohttp.ClientSession() as client:
        response = await client.post(
            f"{env.base}/auth",
            data={
                "grant_type": "password",
                "username": user,
                "password": password,
                "service": "registry",
                "client_id": "docker",
                "access_type": "offline",
            },
        )
        assert response.status == 200, await response.text()


async def refresh_token_ids(env: WebEnv, user: str) -> dict[int, bool]:
    async with env.app[SESSIONMAKER]() as session:
        return {t.id: t.revoked for t in await store.list_refresh_tokens(session, user)}


async def test_password_sign_in_and_sign_out(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        response = await password_sign_in(web_env, http, "carol", "carol-local-pw")
        assert response.status == 200 and str(response.url) == f"{web_env.base}/account"
        page = await response.text()
        assert "Signed in as <strong>carol</strong>" in page and "Password" in page
        fields = await form_fields(web_env, http, "/logout")
        response = await http.post(f"{web_env.base}/logout", data=fields)
        assert "Sign in" in await response.text()
        assert "Signed in as" not in await (await http.get(f"{web_env.base}/account")).text()


async def test_wrong_password_and_missing_csrf(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        response = await password_sign_in(web_env, http, "carol", "wrong")
        assert response.status == 401
        assert "Wrong user name or password" in await response.text()
        response = await password_sign_in(web_env, http, "nobody", "wrong")
        assert response.status == 401
    async with web_env.client() as http:
        # A post without the sign-in page's cookie and token (a login CSRF attempt).
        response = await http.post(
            f"{web_env.base}/login/password",
            data={"username": "carol", "password": "carol-local-pw", "csrf": "guess"},
        )
        assert response.status == 403
        assert "authsvc_session" not in {c.key for c in http.cookie_jar}


async def test_revoke_own_refresh_token_with_csrf(web_env: WebEnv) -> None:
    await docker_login(web_env, "carol", "carol-local-pw")
    [token_id] = await refresh_token_ids(web_env, "carol")
    action = f"/account/refresh-tokens/{token_id}/revoke"
    async with web_env.client() as http:
        await password_sign_in(web_env, http, "carol", "carol-local-pw")
        fields = await form_fields(web_env, http, action)
        # Without the token, with a wrong one, or from another origin: refused, nothing changes.
        for data, headers in (
            ({}, {}),
            ({"csrf": "wrong"}, {}),
            (fields, {"Origin": "https://attacker.example"}),
        ):
            response = await http.post(f"{web_env.base}{action}", data=data, headers=headers)
            assert response.status == 403
        assert await refresh_token_ids(web_env, "carol") == {token_id: False}
        response = await http.post(f"{web_env.base}{action}", data=fields)
        assert response.status == 200
        assert await refresh_token_ids(web_env, "carol") == {token_id: True}
        assert "revoked" in await response.text()


async def test_another_users_refresh_token_is_not_found(web_env: WebEnv) -> None:
    await web_env.seed.user("dave", "dave-pw")
    await docker_login(web_env, "dave", "dave-pw")
    [daves] = await refresh_token_ids(web_env, "dave")
    async with web_env.client() as http:
        await password_sign_in(web_env, http, "carol", "carol-local-pw")
        fields = await form_fields(web_env, http, "/logout")
        response = await http.post(
            f"{web_env.base}/account/refresh-tokens/{daves}/revoke", data=fields
        )
        assert response.status == 404
    assert await refresh_token_ids(web_env, "dave") == {daves: False}


async def test_an_expired_session_signs_out(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        await password_sign_in(web_env, http, "carol", "carol-local-pw")
        async with web_env.app[SESSIONMAKER]() as session:
            await session.execute(update(WebSession).values(expires_at=utcnow()))
            await session.commit()
        page = await (await http.get(f"{web_env.base}/account")).text()
        assert "Signed in as" not in page and "Sign in" in page


async def test_disabling_the_user_ends_the_session(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        await password_sign_in(web_env, http, "carol", "carol-local-pw")
        async with web_env.app[SESSIONMAKER]() as session:
            await store.set_disabled(session, "carol", True)
            await session.commit()
        page = await (await http.get(f"{web_env.base}/account")).text()
        assert "Signed in as" not in page


async def create_token_on_page(
    env: WebEnv, http: aiohttp.ClientSession, **form: str
) -> aiohttp.ClientResponse:
    fields = await form_fields(env, http, "/account/tokens")
    fields.update(form)
    return await http.post(f"{env.base}/account/tokens", data=fields)


async def test_create_list_and_revoke_a_pat(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        await password_sign_in(web_env, http, "carol", "carol-local-pw")
        response = await create_token_on_page(
            web_env, http, name="laptop", scope="repository:carol/*:pull", expires="30d"
        )
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        page = await response.text()
        secret = page.split('id="new-token" class="command" value="')[1].split('"')[0]
        assert secret.startswith("asvc_pat_")
        assert f"docker login {REGISTRY} --username carol --password-stdin" in page
        # Shown once: the next view of the page lists the token but not its secret.
        page = await (await http.get(f"{web_env.base}/account")).text()
        assert "laptop" in page and secret not in page
        [pat] = await web_env.app[SERVICES].pats.list("carol")
        assert pat.scopes == "repository:carol/*:pull" and not pat.revoked
        fields = await form_fields(web_env, http, f"/account/tokens/{pat.id}/revoke")
        response = await http.post(f"{web_env.base}/account/tokens/{pat.id}/revoke", data=fields)
        assert response.status == 200
        [pat] = await web_env.app[SERVICES].pats.list("carol")
        assert pat.revoked


async def test_a_csrf_attempt_on_the_create_form_creates_nothing(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        await password_sign_in(web_env, http, "carol", "carol-local-pw")
        form = {"name": "evil", "scope": "repository:*:pull,push", "expires": "365d"}
        # A forged cross-site post carries the victim's cookie (as SameSite=Lax would not, but
        # an older browser might) but cannot know the CSRF token.
        response = await http.post(
            f"{web_env.base}/account/tokens",
            data={**form, "csrf": "forged"},
            headers={"Origin": "https://attacker.example"},
        )
        assert response.status == 403
        response = await http.post(f"{web_env.base}/account/tokens", data=form)
        assert response.status == 403
    assert await web_env.app[SERVICES].pats.list("carol") == []


async def test_bad_scope_is_explained(web_env: WebEnv) -> None:
    async with web_env.client() as http:
        await password_sign_in(web_env, http, "carol", "carol-local-pw")
        response = await create_token_on_page(
            web_env, http, name="x", scope="repository:carol/*:fly", expires="7d"
        )
        assert response.status == 400
        assert "unknown action" in await response.text()

"""From the page to real clients: sign in with SSO in Chromium, create a token, run the shown
``docker login`` line with the docker CLI, then push and pull with skopeo using that token.

The registry is our ``registry serve`` with authsvc as its token realm. The token's scope is
``repository:alice/*:pull,push``, so skopeo is refused outside it. Screenshots: the page with
the new token shown once (4-token-shown.png) and the token list afterwards (5-token-list.png).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bench.services import Registry, start_ours
from tests.authsvc.tokenhelpers import ISSUER, KeyPair
from tests.authsvc.web.browser import CONTRAST_SCRIPT, chromium
from tests.authsvc.web.support import serve, web_config
from tests.interop.authsvc_stack import build_oci_image, run
from tests.oidc_provider.launcher import OidcProvider
from tests.support import require_tool

pytestmark = pytest.mark.interop


@pytest.fixture
def registry(tmp_path: Path, web_keys: KeyPair, web_port: int) -> Iterator[Registry]:
    """Our registry, trusting authsvc's key, with authsvc's /auth as realm."""
    with ExitStack() as stack:
        yield start_ours(
            stack,
            tmp_path / "registry",
            realm=f"http://localhost:{web_port}/auth",
            bundle=web_keys.cert,
            issuer=ISSUER,
            quiet=False,
        )


def client_env(tmp: Path) -> dict[str, str]:
    """Private state for docker and skopeo; no docker daemon (the CLI logs in by itself)."""
    env = dict(os.environ)
    env.pop("REGISTRY_AUTH_FILE", None)
    env.update(HOME=str(tmp), TMPDIR=str(tmp), DOCKER_CONFIG=str(tmp / "docker"))
    env["DOCKER_HOST"] = f"unix://{tmp}/no-docker.sock"
    return env


async def sh(
    args: list[str], env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a client off the event loop, which serves authsvc meanwhile."""
    return await asyncio.to_thread(run, args, env=env, check=check)


async def test_pat_from_the_page_works_with_docker_and_skopeo(
    db_url: str,
    web_keys: KeyPair,
    oidc_provider: OidcProvider,
    web_port: int,
    registry: Registry,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the real-client run")
    require_tool("docker")  # the page's command runs `docker login` from PATH
    skopeo = require_tool("skopeo")
    config = web_config(db_url, web_keys, oidc_provider, web_port)
    config = dataclasses.replace(
        config, web=dataclasses.replace(config.web, registry=registry.host)
    )
    async with serve(config, web_port, oidc_provider) as env:
        await env.seed.rule("*", "${account}/*", ["pull", "push"])
        async with chromium() as browser:
            context = await browser.new_context(
                ignore_https_errors=True, viewport={"width": 1100, "height": 900}
            )
            page = await context.new_page()
            await page.goto(f"{env.base}/login")
            await page.get_by_label("Username").fill("alice")
            await page.get_by_label("Password").fill("alice-sso-pw")
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{env.base}/account")

            await page.get_by_label("Name").fill("ci laptop")
            assert await page.get_by_label("Scope").input_value() == "repository:alice/*:pull,push"
            await page.get_by_label("Expires after").select_option("7d")
            await page.get_by_role("button", name="Create token").click()
            shown = page.get_by_role("status")
            assert "shown only once" in await shown.inner_text()
            command = await page.get_by_label("Log in with it").input_value()
            secret = await page.get_by_label("Your new access token").input_value()
            await page.screenshot(path=str(artifacts / "4-token-shown.png"), full_page=True)
            assert await page.evaluate(CONTRAST_SCRIPT) == []

            clients = client_env(tmp_path)
            login = await sh(["bash", "-c", command], clients)
            assert "Login Succeeded" in login.stdout + login.stderr
            stored = json.loads((tmp_path / "docker" / "config.json").read_text())
            assert registry.host in stored["auths"]

            image = build_oci_image(tmp_path / "layout", text="from a PAT")
            creds = f"alice:{secret}"
            target = f"docker://{registry.host}/alice/app:v1"
            push = [skopeo, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds]
            await sh([*push, image.ref, target], clients)
            pulled = tmp_path / "pulled"
            pull = [skopeo, "copy", "--quiet", "--src-tls-verify=false", "--src-creds", creds]
            await sh([*pull, target, f"dir:{pulled}"], clients)
            assert (pulled / "manifest.json").exists()
            outside = f"docker://{registry.host}/team/app:v1"
            denied = await sh([*push, image.ref, outside], clients, check=False)
            assert denied.returncode != 0
            assert "denied" in denied.stderr.lower() or "unauthorized" in denied.stderr.lower()

            await page.goto(f"{env.base}/account")
            row = page.get_by_role("row", name="ci laptop")
            assert "repository:alice/*:pull,push" in await row.inner_text()
            await page.screenshot(path=str(artifacts / "5-token-list.png"), full_page=True)
            await context.close()

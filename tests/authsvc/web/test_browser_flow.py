"""The account page in a real browser: single sign-on at the real provider, then the page.

Screenshots of each step go to test-artifacts/account-page/ (ignored by git), so that a person
can look at what a user sees.
"""

from __future__ import annotations

from pathlib import Path

from tests.authsvc.web.browser import CONTRAST_SCRIPT, chromium
from tests.authsvc.web.support import WebEnv


async def test_sso_sign_in_in_chromium(web_env: WebEnv, artifacts: Path) -> None:
    async with chromium() as browser:
        # The browser does not know the test CA; authsvc itself verifies the provider with it.
        context = await browser.new_context(
            ignore_https_errors=True, viewport={"width": 1100, "height": 760}
        )
        page = await context.new_page()
        await page.goto(f"{web_env.base}/account")
        assert (await page.title()).startswith("Sign in")
        await page.screenshot(path=str(artifacts / "1-sign-in.png"), full_page=True)
        assert await page.evaluate(CONTRAST_SCRIPT) == []

        await page.get_by_role("link", name="Sign in with single sign-on").click()
        await page.get_by_label("Username").fill("alice")
        await page.get_by_label("Password").fill("alice-sso-pw")
        await page.screenshot(path=str(artifacts / "2-provider-login.png"), full_page=True)
        await page.get_by_role("button", name="Sign in").click()

        await page.wait_for_url(f"{web_env.base}/account")
        assert await page.get_by_role("heading", name="alice").is_visible()
        groups = page.get_by_role("list", name="Groups")
        assert await groups.inner_text() == "devs\nops"
        await page.screenshot(path=str(artifacts / "3-account.png"), full_page=True)
        assert await page.evaluate(CONTRAST_SCRIPT) == []

        # Keyboard use: the sign-out button is reachable and works from the keyboard.
        await page.get_by_role("button", name="Sign out").focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await page.screenshot(path=str(artifacts / "4-signed-out.png"), full_page=True)
        assert await page.get_by_role("heading", name="Sign in").is_visible()
        await context.close()


async def test_the_contrast_check_finds_faint_text() -> None:
    # The check the page tests rely on must fail on text a reader cannot make out.
    async with chromium() as browser:
        page = await browser.new_page()
        await page.set_content(
            '<p style="color:#aaa;background:#fff">faint</p><p style="color:#222">clear</p>'
        )
        failures = await page.evaluate(CONTRAST_SCRIPT)
        assert len(failures) == 1 and failures[0].startswith("P.")

"""Debian's Chromium driven by Playwright (the system browser: downloads do not work here)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support import require_interop

CHROMIUM = "/usr/bin/chromium"


def require_chromium() -> str:
    """The Chromium binary; skip (fail under REQUIRE_INTEROP) when it is missing."""
    path = shutil.which("chromium") or (CHROMIUM if shutil.which(CHROMIUM) else None)
    if path is None:
        if require_interop():
            pytest.fail("chromium is not installed, and REQUIRE_INTEROP=1 forbids skipping")
        pytest.skip("chromium is not installed")
    return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium; --no-sandbox because the tests may run as root."""
    executable = require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"], headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()

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


# WCAG 2.1 §1.4.3: text contrast at least 4.5:1, or 3:1 for large text (24px, or 18.66px bold).
# Computed in the page itself from the rendered styles; the background is the first opaque one
# among the element and its ancestors (the page has no background images).
CONTRAST_SCRIPT = """
() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length === 3 || c[3] > 0.99)) return c;
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    const field = ["INPUT", "TEXTAREA", "SELECT", "BUTTON"].includes(el.tagName);
    if ((!own && !field) || style.visibility === "hidden" || el.offsetParent === null) continue;
    if (el.classList.contains("sr-only")) continue;
    const a = lum(parse(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) failures.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)}`);
  }
  return failures;
}
"""

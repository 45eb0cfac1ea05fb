"""A headless Debian chromium driven by Playwright, and a folder for screenshots people look at."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Kept after the run (git-ignored): one PNG per state of the page, for a person to look at.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "playground"


# Module-scoped, not session: the sync API's event loop must be gone before later tests run
# their own asyncio loops.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Debian's chromium, never a downloaded one: `make browser` installs it.
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )
    yield browser
    browser.close()


# What the docs' CSP is known to block, so that nothing leaves this server: ReDoc's sidebar
# always shows its maker's logo from their CDN (the bundle has no option against it; the
# link's text stays).
KNOWN_BLOCKED = ("https://cdn.redoc.ly/redoc/logo-mini.svg",)

# The sizes the page is checked at: a laptop, and a phone (as Chromium's device toolbar has it).
DESKTOP = (1366, 900)
PHONE = (390, 844)


@pytest.fixture
def viewport() -> tuple[int, int]:
    """(width, height) of the page; a test parametrizes `viewport` to run at other sizes."""
    return (1280, 1000)


@pytest.fixture
def page(browser: Browser, viewport: tuple[int, int]) -> Iterator[Page]:
    """A fresh context per test: its own localStorage, downloads allowed."""
    width, height = viewport
    phone = width < 600
    context = browser.new_context(
        viewport={"width": width, "height": height},
        accept_downloads=True,
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=2 if phone else 1,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A blocked resource (the page reaching past its own server) shows up as a CSP report.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if "Content Security Policy" in message.text
            and not any(known in message.text for known in KNOWN_BLOCKED)
            else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"errors in the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob("*.png"):  # what is there is this run's, nothing older
        stale.unlink()
    return ARTIFACTS

"""The demo page and the wizard in real headless Chromium, driven by Playwright.

Playwright drives Debian's /usr/bin/chromium; no browser is downloaded. Without it
the test is skipped, except when the CI environment variable is set, where it fails.
On failure the test saves a screenshot under test-artifacts/.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import (
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    session_of_client,
    update_body,
)
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from mockserver.registration import SyncFailure
from mockserver.settings import DEFAULT_PASSWORD, DEFAULT_USER

Client = TestClient[web.Request, web.Application]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous, because CI machines are slow to start a browser; no speed is asserted.
TIMEOUT_MS = 20_000


@pytest.fixture
def chromium() -> Path:
    """Return Debian's Chromium, or skip (fail under CI) when it is missing."""
    if CHROMIUM.is_file():
        return CHROMIUM
    reason = f"{CHROMIUM} is missing; install it with: apt-get install -y chromium"
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason} (CI is set, so the browser test must run)")
    pytest.skip(reason)


@pytest.fixture
async def browser(chromium: Path, tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Start headless Chromium with a fresh profile and the default user's password."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_FLAGS,
            # Chromium sends these when the configuration API returns a Basic challenge.
            http_credentials={"username": DEFAULT_USER, "password": DEFAULT_PASSWORD},
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            await context.close()


@asynccontextmanager
async def screenshot_on_failure(page: Page, name: str) -> AsyncIterator[None]:
    """Save a screenshot of ``page`` under test-artifacts/ when the block fails."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        raise


@asynccontextmanager
async def busy_registration(client: Client, value: str) -> AsyncIterator[None]:
    """Keep a PUT of ``value`` in its device sync until the block ends."""
    store = session_of_client(client).store
    release = asyncio.Event()

    async def held_sync(stored: str) -> list[SyncFailure]:
        await release.wait()
        return []

    store.sync = held_sync
    held_put = asyncio.ensure_future(
        client.put(REGISTRATION_PATH, data=update_body(value), headers=XML)
    )
    try:
        # Bounded wait for the PUT to reach the sync: at most 10 s.
        for _ in range(1000):
            if store.is_busy or held_put.done():
                break
            await asyncio.sleep(0.01)
        assert store.is_busy, "the held PUT never started its device sync"
        yield
    finally:
        release.set()
        response = await held_put
        response.release()
    assert response.status == 200


async def test_demo_registers_and_deregisters(
    make_client: ClientFactory, browser: BrowserContext
) -> None:
    client = await make_client()
    demo_url = str(client.make_url("/demo/"))
    callback_url = str(client.make_url("/demo/callback"))
    page = await browser.new_page()
    expect.set_options(timeout=TIMEOUT_MS)

    async with screenshot_on_failure(page, "demo-registers-and-deregisters"):
        await page.goto(demo_url)
        await expect(page.locator("#state")).to_have_text("notRegistered")

        await page.click("#register")
        await expect(page.locator("h1")).to_have_text("Register with Context Service")
        await page.fill("#user", "alice@example.com")
        await page.click("#next")
        await page.check("input[name=organization] >> nth=1")
        await page.click("#next")
        await expect(page.locator("#organization")).to_have_text(
            "Example Lab Organization"
        )
        await page.click("#confirm")

        await expect(page).to_have_url(callback_url)
        await expect(page.locator("#outcome-kind")).to_have_text("Saved")
        await expect(page.locator("#state")).to_have_text("registered")
        stored = session_of_client(client).store.current.connection_data
        token = session_of_client(client).tokens.decode(stored)
        assert token is not None
        assert token.issued_to == "alice@example.com"

        await page.click("#deregister")
        await expect(page.locator("#token-id")).to_have_text(token.token_id)
        await page.click("#confirm")

        await expect(page).to_have_url(callback_url)
        await expect(page.locator("#outcome-kind")).to_have_text("Saved")
        await expect(page.locator("#state")).to_have_text("notRegistered")
        assert session_of_client(client).tokens.is_revoked(token)

        markup = "%3Cimg%20id%3Dinjected%20src%3Dx%20onerror%3Dalert(1)%3E"
        await page.goto(f"{callback_url}?error={markup}")
        await expect(page.locator("#outcome-message")).to_have_text(
            re.compile(r"error=<img id=injected src=x onerror=alert\(1\)>")
        )
        await expect(page.locator("#injected")).to_have_count(0)


async def test_demo_describes_each_update_outcome(
    make_client: ClientFactory, browser: BrowserContext
) -> None:
    client = await make_client()
    session = session_of_client(client)
    store = session.store
    callback_url = str(client.make_url("/demo/callback"))
    # The browser's credentials are the default user's, which this server lacks.
    stranger = await make_client(users=(("someone@example.com", "other-password"),))
    stranger_callback_url = str(stranger.make_url("/demo/callback"))
    value = session.tokens.mint().value
    callback_with_value = f"{callback_url}?connectionData={quote(value, safe='')}"
    page = await browser.new_page()
    expect.set_options(timeout=TIMEOUT_MS)

    async def failing_sync(stored: str) -> list[SyncFailure]:
        return [SyncFailure("finesse-a", "timed out"), SyncFailure("cvp-1", "reset")]

    async with screenshot_on_failure(page, "demo-describes-each-update-outcome"):
        async with busy_registration(client, value):
            await page.goto(callback_with_value)
            await expect(page.locator("#outcome-kind")).to_have_text("Busy")
            await expect(page.locator("#outcome-message")).to_contain_text(
                "Retry after 1 s."
            )
        await page.click("#retry")
        await expect(page.locator("#outcome-kind")).to_have_text("Saved")

        store.sync = failing_sync
        await page.goto(callback_with_value)
        await expect(page.locator("#outcome-kind")).to_have_text("Partial success")
        await expect(page.locator("#failed-devices li")).to_have_text(
            [re.compile(r"^finesse-a: "), re.compile(r"^cvp-1: ")]
        )

        other = quote(session.tokens.mint().value, safe="")
        await page.goto(f"{callback_url}?connectionData={other}")
        await expect(page.locator("#outcome-kind")).to_have_text("Rejected")
        await expect(page.locator("#outcome-message")).to_contain_text(
            "Deregister before reregistering"
        )

        store.database.fail_writes = True
        await page.goto(f"{callback_url}?connectionData=")
        await expect(page.locator("#outcome-kind")).to_have_text("Failed")
        await expect(page.locator("#state")).to_have_text("registered")

        await page.goto(f"{stranger_callback_url}?connectionData=")
        await expect(page.locator("#outcome-kind")).to_have_text("Not signed in")


async def test_demo_cancels_then_reregisters_from_invalid(
    make_client: ClientFactory, browser: BrowserContext
) -> None:
    client = await make_client()
    tokens = session_of_client(client).tokens
    revoked = tokens.mint().value
    session_of_client(client).store.reset(revoked)
    tokens.revoke(revoked)
    page = await browser.new_page()
    expect.set_options(timeout=TIMEOUT_MS)

    async with screenshot_on_failure(page, "demo-cancels-then-reregisters"):
        await page.goto(str(client.make_url("/demo/")))
        await expect(page.locator("#state")).to_have_text("invalid")
        await page.click("#register")
        await page.click("#cancel")
        await expect(page.locator("#outcome-kind")).to_have_text("Cancelled")
        await expect(page.locator("#outcome-message")).to_contain_text(
            "error=access_denied"
        )
        await expect(page.locator("#state")).to_have_text("invalid")

        await page.click("#register")
        await page.fill("#user", "bob")
        await page.click("#next")
        await page.click("#next")
        await page.click("#confirm")
        await expect(page.locator("#outcome-kind")).to_have_text("Saved")
        await expect(page.locator("#state")).to_have_text("registered")
        stored = session_of_client(client).store.current.connection_data
        assert stored != revoked
        assert tokens.is_live(stored)

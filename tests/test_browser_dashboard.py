"""The dashboard at /_mock/ui in real headless Chromium, driven by Playwright.

It uses the Chromium fixtures of the demo page's browser tests: Debian's
/usr/bin/chromium, skipped when missing unless CI is set, and a screenshot under
test-artifacts/ on failure.
"""

from __future__ import annotations

import re

import test_browser_demo
from conftest import (
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    session_of_client,
    update_body,
)
from playwright.async_api import BrowserContext, Dialog, expect
from test_browser_demo import TIMEOUT_MS, screenshot_on_failure

from mockserver.dashboard import DASHBOARD_PATH

# The demo tests' fixtures, which pytest finds by their names in this module.
chromium = test_browser_demo.chromium
browser = test_browser_demo.browser

TOKEN = "dashboard-token"
MARKUP = "<img src=x onerror=alert(1)>"


async def test_dashboard_follows_a_registration(
    make_client: ClientFactory, browser: BrowserContext
) -> None:
    client = await make_client(control_token=TOKEN)
    page = await browser.new_page()
    dialogs: list[str] = []

    def record_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)

    page.on("dialog", record_dialog)
    expect.set_options(timeout=TIMEOUT_MS)

    async with screenshot_on_failure(page, "dashboard-follows-a-registration"):
        await page.goto(str(client.make_url(DASHBOARD_PATH)))
        await expect(page.locator("#message")).to_contain_text("HTTP 401")
        await expect(page.locator("#state")).to_have_text("loading…")

        await page.fill("#token", TOKEN)
        await page.click("#save-token")
        await expect(page.locator("#state")).to_have_text("notRegistered")
        await expect(page.locator("#message")).to_be_hidden()
        await expect(page.locator("#scenario-name")).to_have_text("happy-path")
        await expect(page.locator("#faults td.empty")).to_have_text("No fault rules.")
        await expect(page.locator("#journal td.empty")).to_have_text(
            "No requests recorded."
        )

        value = session_of_client(client).tokens.mint().value
        response = await client.put(
            REGISTRATION_PATH, data=update_body(value), headers=XML
        )
        assert response.status == 200

        await expect(page.locator("#state")).to_have_text("registered")
        await expect(page.locator("#devices td.name")).to_have_text(
            ["cvp-1", "finesse-1", "socialminer-1"]
        )
        await expect(page.locator("#devices td.in-sync")).to_have_text(
            ["yes", "yes", "yes"]
        )
        await expect(page.locator("#devices td.value").first).to_contain_text(
            value[:12]
        )
        put_row = page.locator("#journal tbody tr").filter(
            has=page.locator("td.method", has_text="PUT")
        )
        await expect(put_row.locator("td.path").first).to_have_text(REGISTRATION_PATH)
        await expect(put_row.locator("td.status").first).to_have_text("200")

        markup_path = "/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
        assert (await client.get(markup_path)).status == 404
        await expect(page.locator("#journal td.path").first).to_have_text("/" + MARKUP)
        await expect(page.locator("#journal td.role").first).to_have_text("other")
        await expect(page.locator("main img")).to_have_count(0)
        assert dialogs == []

        # The token stays for this tab: a reload needs no new entry.
        await page.reload()
        await expect(page.locator("#state")).to_have_text("registered")
        await expect(page.locator("#token")).to_have_value(TOKEN)
        await expect(page.locator("#journal td.path").first).to_have_text(
            re.compile(r"^/<img ")
        )
        # The page's empty icon keeps the browser from requesting /favicon.ico.
        paths = [entry.path for entry in session_of_client(client).journal]
        assert "/favicon.ico" not in paths

"""The dashboard page at /_mock/ui, over real loopback HTTP."""

from __future__ import annotations

import re

from conftest import ClientFactory, session_of_client

from mockserver.dashboard import DASHBOARD_PATH

TOKEN = "dashboard-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ASSETS = {
    f"{DASHBOARD_PATH}/dashboard.js": "text/javascript",
    f"{DASHBOARD_PATH}/dashboard.css": "text/css",
}


def data_paths(page: str) -> dict[str, str]:
    """Return the JSON paths the page's script polls, from its data attributes."""
    return dict(re.findall(r'data-([a-z]+)-path="([^"]+)"', page))


async def test_page_has_security_headers(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.get(DASHBOARD_PATH)

    assert response.status == 200
    assert response.content_type == "text/html"
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    page = await response.text()
    assert '<script src="/_mock/ui/dashboard.js">' in page
    assert "<script>" not in page
    assert " style=" not in page


async def test_page_polls_the_control_api(make_client: ClientFactory) -> None:
    client = await make_client()

    page = await (await client.get(DASHBOARD_PATH)).text()

    assert data_paths(page) == {
        "state": "/_mock/state",
        "scenario": "/_mock/scenario",
        "devices": "/_mock/devices",
        "journal": "/_mock/journal?limit=20",
    }
    for path in data_paths(page).values():
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type == "application/json", path


async def test_page_contains_no_data(make_client: ClientFactory) -> None:
    client = await make_client()
    session = session_of_client(client)
    value = session.tokens.mint().value
    session.store.reset(value)

    page = await (await client.get(DASHBOARD_PATH)).text()

    assert value not in page
    assert value[:12] not in page
    for name in ("happy-path", "cvp-1", "finesse-1", "socialminer-1"):
        assert name not in page
    assert "loading…" in page


async def test_assets_are_served_with_their_types(make_client: ClientFactory) -> None:
    client = await make_client()

    for path, content_type in ASSETS.items():
        response = await client.get(path)

        assert response.status == 200, path
        assert response.content_type == content_type, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
    script = await (await client.get(f"{DASHBOARD_PATH}/dashboard.js")).text()
    assert "innerHTML" not in script
    assert "textContent" in script


async def test_page_is_public_with_control_token(make_client: ClientFactory) -> None:
    client = await make_client(credentials=False, control_token=TOKEN)

    response = await client.get(DASHBOARD_PATH)

    assert response.status == 200
    page = await response.text()
    for path in ASSETS:
        assert (await client.get(path)).status == 200, path
    for path in data_paths(page).values():
        refused = await client.get(path)
        assert refused.status == 401, path
        assert refused.headers["WWW-Authenticate"].startswith("Bearer"), path
        accepted = await client.get(path, headers=BEARER)
        assert accepted.status == 200, path


async def test_page_is_not_recorded(make_client: ClientFactory) -> None:
    client = await make_client()

    for path in (DASHBOARD_PATH, *ASSETS):
        assert (await client.get(path)).status == 200, path

    journal = await (await client.get("/_mock/journal")).json()
    assert journal["recorded"] == 0
    assert journal["entries"] == []


async def test_other_methods_get_405(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.post(DASHBOARD_PATH)

    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"

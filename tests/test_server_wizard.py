"""The wizard's pages, redirects and revocation over HTTP."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import quote, unquote

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from conftest import (
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    session_of_client,
    update_body,
)
from yarl import URL

from mockserver.connectiondata import ORGANIZATIONS, TokenAuthority

Client = TestClient[web.Request, web.Application]

CALLBACK = "http://127.0.0.1:9/admin/callback"
MARKUP_CALLBACK = 'http://127.0.0.1:9/cb?x="><script>alert(1)</script>'


def wizard_url(path: str, callback_url: str, extra: str = "") -> URL:
    """Return ``path`` with callbackUrl encoded as the configuration API encodes it."""
    return URL(
        f"{path}?callbackUrl={quote(callback_url, safe='')}{extra}", encoded=True
    )


def form_state(page: str) -> str:
    """Return the sealed state field of a wizard page."""
    match = re.search(r'name="state" value="([^"]*)"', page)
    assert match is not None, "the page has no state field"
    return html.unescape(match.group(1))


async def post_form(
    client: Client, path: str, page: str, **fields: str
) -> ClientResponse:
    data = {"state": form_state(page), **fields}
    return await client.post(path, data=data, allow_redirects=False)


async def walk_to_confirm_page(client: Client, callback_url: str) -> str:
    """Open the wizard and pass the sign-in and organization steps."""
    start = await client.get(
        wizard_url("/v1/authorize", callback_url, "&appType=custom")
    )
    signed_in = await post_form(
        client, "/v1/authorize", await start.text(), user="alice"
    )
    chosen = await post_form(
        client,
        "/v1/authorize",
        await signed_in.text(),
        organization=ORGANIZATIONS[1].id,
        action="next",
    )
    assert chosen.status == 200
    return await chosen.text()


async def test_wizard_pages_register(make_client: ClientFactory) -> None:
    client = await make_client()

    start = await client.get(wizard_url("/v1/authorize", CALLBACK, "&appType=custom"))
    start_page = await start.text()
    signed_in = await post_form(client, "/v1/authorize", start_page, user=" alice ")
    organization_page = await signed_in.text()
    chosen = await post_form(
        client, "/v1/authorize", organization_page, organization=ORGANIZATIONS[1].id
    )
    confirm_page = await chosen.text()
    confirmed = await post_form(client, "/v1/authorize", confirm_page, action="confirm")
    location = confirmed.headers["Location"]
    token = session_of_client(client).tokens.decode(
        unquote(location.partition("connectionData=")[2])
    )

    assert start.status == 200
    assert start.content_type == "text/html"
    assert "Step 1 of 3" in start_page
    assert "Step 2 of 3" in organization_page
    assert 'id="user">alice<' in organization_page
    assert "Example Lab Organization" in confirm_page
    assert confirmed.status == 303
    assert location.startswith(f"{CALLBACK}?connectionData=")
    assert token is not None
    assert token.issued_to == "alice"
    assert token.organization_id == ORGANIZATIONS[1].id


@pytest.mark.parametrize(
    ("user", "message"),
    [("   ", "Enter a user name"), ("a" * 129, "longer than 128 characters")],
    ids=["blank", "too-long"],
)
async def test_wizard_sign_in_rejects_user(
    make_client: ClientFactory, user: str, message: str
) -> None:
    client = await make_client()
    start = await client.get(wizard_url("/v1/authorize", CALLBACK))

    response = await post_form(client, "/v1/authorize", await start.text(), user=user)

    assert response.status == 400
    assert message in await response.text()
    assert "Step 1 of 3" in await response.text()


async def test_wizard_rejects_unknown_organization(make_client: ClientFactory) -> None:
    client = await make_client()
    start = await client.get(wizard_url("/v1/authorize", CALLBACK))
    signed_in = await post_form(client, "/v1/authorize", await start.text(), user="a")

    response = await post_form(
        client, "/v1/authorize", await signed_in.text(), organization="other-org"
    )

    assert response.status == 400
    assert "Choose one of the organizations listed." in await response.text()


@pytest.mark.parametrize(
    ("callback_url", "location"),
    [
        (
            "http://127.0.0.1:9/cb",
            "http://127.0.0.1:9/cb?error=access_denied",
        ),
        (
            "http://127.0.0.1:9/cb?a=%2F&b=2#part",
            "http://127.0.0.1:9/cb?a=%2F&b=2&error=access_denied#part",
        ),
    ],
    ids=["plain", "query-and-fragment"],
)
@pytest.mark.parametrize("step", [1, 2, 3], ids=["sign-in", "organization", "confirm"])
async def test_wizard_cancel_returns_access_denied(
    make_client: ClientFactory, callback_url: str, location: str, step: int
) -> None:
    client = await make_client()
    pages = [await (await client.get(wizard_url("/v1/authorize", callback_url))).text()]
    pages.append(
        await (await post_form(client, "/v1/authorize", pages[0], user="a")).text()
    )
    pages.append(await walk_to_confirm_page(client, callback_url))

    response = await post_form(
        client, "/v1/authorize", pages[step - 1], action="cancel"
    )

    assert response.status == 303
    assert response.headers["Location"] == location
    assert session_of_client(client).tokens.cached_verdicts == 0


async def test_wizard_rejects_altered_state(make_client: ClientFactory) -> None:
    client = await make_client()
    start = await client.get(wizard_url("/v1/authorize", CALLBACK))
    state = form_state(await start.text())

    forged = await client.post(
        "/v1/authorize",
        data={"state": state[:-2] + "00", "action": "cancel"},
        allow_redirects=False,
    )
    missing = await client.post("/v1/authorize", data={"action": "cancel"})
    other_flow = await client.post(
        "/v1/unauthorize", data={"state": state, "action": "cancel"}
    )

    assert forged.status == 400
    assert "Location" not in forged.headers
    assert "The form&#39;s state is missing or was altered." in await forged.text()
    assert missing.status == 400
    assert other_flow.status == 400


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "the callbackUrl parameter is missing"),
        ("?callbackUrl=javascript%3Aalert(1)", "is not an absolute http or https URL"),
        ("?callbackUrl=%2Fdemo%2Fcallback", "is not an absolute http or https URL"),
    ],
    ids=["missing", "javascript", "relative"],
)
@pytest.mark.parametrize("mode", ["pages", "auto"])
@pytest.mark.parametrize("path", ["/v1/authorize", "/v1/unauthorize"])
async def test_wizard_rejects_callback_with_page(
    make_client: ClientFactory, query: str, message: str, mode: str, path: str
) -> None:
    client = await make_client(wizard_mode=mode)

    response = await client.get(URL(path + query, encoded=True), allow_redirects=False)

    assert response.status == 400
    assert response.content_type == "text/html"
    assert "Location" not in response.headers
    assert message in html.unescape(await response.text())


@pytest.mark.parametrize("mode", ["pages", "auto"])
async def test_authorize_rejects_app_type(
    make_client: ClientFactory, mode: str
) -> None:
    client = await make_client(wizard_mode=mode)

    response = await client.get(
        wizard_url("/v1/authorize", CALLBACK, "&appType=%3Cb%3E"), allow_redirects=False
    )

    assert response.status == 400
    assert "The appType &#39;&lt;b&gt;&#39; is invalid" in await response.text()


@pytest.mark.parametrize(
    ("callback_url", "prefix", "suffix"),
    [
        ("http://127.0.0.1:9/cb", "http://127.0.0.1:9/cb?connectionData=", ""),
        (
            "http://127.0.0.1:9/cb?b=2&a=1",
            "http://127.0.0.1:9/cb?b=2&a=1&connectionData=",
            "",
        ),
        (
            "http://127.0.0.1:9/cb?a=1#step-2",
            "http://127.0.0.1:9/cb?a=1&connectionData=",
            "#step-2",
        ),
        ("http://127.0.0.1:9/cb?", "http://127.0.0.1:9/cb?connectionData=", ""),
        (
            "http://127.0.0.1:9/cb?next=http%3A%2F%2F127.0.0.1%2Fa%3Fb%3Dc%26d&x=%7e+y",
            "http://127.0.0.1:9/cb?next=http%3A%2F%2F127.0.0.1%2Fa%3Fb%3Dc%26d&x=%7e+y"
            "&connectionData=",
            "",
        ),
    ],
    ids=["plain", "query", "query-and-fragment", "trailing-question-mark", "encoded"],
)
async def test_authorize_redirect_is_byte_exact(
    make_client: ClientFactory, callback_url: str, prefix: str, suffix: str
) -> None:
    client = await make_client(wizard_mode="auto")
    get = await client.get(
        URL(
            f"{REGISTRATION_PATH}?callbackUrl={quote(callback_url, safe='')}",
            encoded=True,
        ),
        headers={"Accept": "application/json"},
    )
    registration_url = (await get.json())["registrationUrl"]

    response = await client.session.get(
        URL(registration_url, encoded=True), allow_redirects=False
    )
    location = response.headers["Location"]
    encoded_token = location.removeprefix(prefix).removesuffix(suffix)
    token = unquote(encoded_token)

    assert response.status == 303
    assert location.startswith(prefix)
    assert location.endswith(suffix)
    assert set(token) >= set("+/=")
    assert encoded_token == quote(token, safe="")
    assert session_of_client(client).tokens.is_live(token)


async def test_unauthorize_redirect_has_empty_connection_data(
    make_client: ClientFactory,
) -> None:
    client = await make_client(wizard_mode="auto")
    callback_url = "http://127.0.0.1:9/cb?a=%2F#frag"

    response = await client.get(
        wizard_url("/v1/unauthorize", callback_url), allow_redirects=False
    )

    assert response.status == 303
    assert (
        response.headers["Location"]
        == "http://127.0.0.1:9/cb?a=%2F&connectionData=#frag"
    )


async def test_head_changes_no_token(make_client: ClientFactory) -> None:
    client = await make_client(wizard_mode="auto")
    tokens = session_of_client(client).tokens
    token = tokens.mint()
    extra = f"&connectionData={quote(token.value, safe='')}"

    authorize = await client.head(wizard_url("/v1/authorize", CALLBACK))
    unauthorize = await client.head(wizard_url("/v1/unauthorize", CALLBACK, extra))

    assert authorize.status == 405
    assert unauthorize.status == 405
    assert tokens.is_live(token.value)
    assert tokens.cached_verdicts == 1


async def put_value(client: Client, value: str) -> str:
    """Store ``value`` with the update API and return the state GET then reports."""
    put = await client.put(REGISTRATION_PATH, data=update_body(value), headers=XML)
    assert put.status == 200
    get = await client.get(REGISTRATION_PATH, headers={"Accept": "application/json"})
    state = (await get.json())["state"]
    assert isinstance(state, str)
    return state


def forge(value: str) -> str:
    """Flip one Base64 character inside the JSON document, keeping the signature."""
    return value[:40] + ("A" if value[40] != "A" else "B") + value[41:]


@pytest.mark.parametrize(
    ("make_value", "state"),
    [
        (lambda tokens: tokens.mint().value, "registered"),
        (lambda tokens: forge(tokens.mint().value), "invalid"),
        (lambda tokens: TokenAuthority().mint().value, "invalid"),
        (lambda tokens: tokens.mint().value.replace("+", " "), "invalid"),
        (lambda tokens: "abc", "invalid"),
    ],
    ids=["live", "forged", "other-mock", "plus-as-space", "plain-text"],
)
async def test_stored_value_must_be_live_token(
    make_client: ClientFactory,
    make_value: Callable[[TokenAuthority], str],
    state: str,
) -> None:
    client = await make_client(accept_any_connection_data=False)
    value = make_value(session_of_client(client).tokens)

    reported = await put_value(client, value)

    assert reported == state


async def test_revoked_token_reads_invalid(make_client: ClientFactory) -> None:
    client = await make_client(accept_any_connection_data=False)
    tokens = session_of_client(client).tokens
    value = tokens.mint().value
    before = await put_value(client, value)

    tokens.revoke(value)
    after = await client.get(REGISTRATION_PATH, headers={"Accept": "application/json"})

    assert before == "registered"
    assert (await after.json())["state"] == "invalid"


async def test_accept_any_connection_data_restores_any_value(
    make_client: ClientFactory,
) -> None:
    client = await make_client(accept_any_connection_data=True)

    assert await put_value(client, "abc") == "registered"


async def test_unauthorize_pages_revoke_stored_token(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    token = session_of_client(client).tokens.mint(organization=ORGANIZATIONS[1])
    await put_value(client, token.value)

    page = await client.get(wizard_url("/v1/unauthorize", CALLBACK))
    text = await page.text()
    confirmed = await post_form(client, "/v1/unauthorize", text, action="confirm")
    after = await client.get(REGISTRATION_PATH, headers={"Accept": "application/json"})

    assert page.status == 200
    assert "Example Lab Organization" in text
    assert token.token_id in text
    assert confirmed.status == 303
    assert confirmed.headers["Location"] == f"{CALLBACK}?connectionData="
    assert (await after.json())["state"] == "invalid"


async def test_unauthorize_revokes_given_connection_data(
    make_client: ClientFactory,
) -> None:
    client = await make_client(wizard_mode="auto")
    tokens = session_of_client(client).tokens
    token = tokens.mint()
    extra = f"&connectionData={quote(token.value, safe='')}"

    response = await client.get(
        wizard_url("/v1/unauthorize", CALLBACK, extra), allow_redirects=False
    )

    assert response.status == 303
    assert tokens.is_revoked(token)


async def test_unauthorize_cancel_keeps_registration(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    token = session_of_client(client).tokens.mint()
    await put_value(client, token.value)
    page = await client.get(wizard_url("/v1/unauthorize", CALLBACK))

    response = await post_form(
        client, "/v1/unauthorize", await page.text(), action="cancel"
    )

    assert response.headers["Location"] == f"{CALLBACK}?error=access_denied"
    assert session_of_client(client).tokens.is_live(token.value)


async def test_management_page_revokes_registration(make_client: ClientFactory) -> None:
    client = await make_client()
    token = session_of_client(client).tokens.mint()
    await put_value(client, token.value)

    page = await client.get("/management")
    text = await page.text()
    revoke = await post_form(client, "/management", text, action="revoke")
    after = await client.get("/management")
    after_text = await after.text()
    state = await client.get(REGISTRATION_PATH, headers={"Accept": "application/json"})

    assert page.status == 200
    assert 'id="state">registered<' in text
    assert token.organization_name in text
    assert token.cluster_name in text
    assert token.issued_at in text
    assert revoke.status == 303
    assert revoke.headers["Location"] == "/management"
    assert 'id="state">invalid<' in after_text
    assert 'id="revoked"' in after_text
    assert 'id="revoke"' not in after_text
    assert (await state.json())["state"] == "invalid"


async def test_management_page_without_registration(make_client: ClientFactory) -> None:
    client = await make_client()

    page = await client.get("/management")

    assert page.status == 200
    assert 'id="nothing"' in await page.text()


@pytest.mark.parametrize(
    "path", ["/v1/authorize", "/v1/unauthorize"], ids=["authorize", "unauthorize"]
)
async def test_wizard_page_escapes_callback_markup(
    make_client: ClientFactory, path: str
) -> None:
    client = await make_client()

    response = await client.get(wizard_url(path, MARKUP_CALLBACK))
    text = await response.text()

    assert response.status == 200
    assert "<script>alert(1)</script>" not in text
    assert '"><script>' not in text
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text


async def test_error_page_escapes_callback_markup(make_client: ClientFactory) -> None:
    client = await make_client()
    markup = 'javascript:"><img src=x onerror=alert(1)>'

    response = await client.get(wizard_url("/v1/authorize", markup))
    text = await response.text()

    assert response.status == 400
    assert "<img" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


async def test_demo_pages_echo_no_query_values(make_client: ClientFactory) -> None:
    client = await make_client()
    query = "?connectionData=%3Cscript%3Ealert(1)%3C%2Fscript%3E&error=%3Cb%3E"

    callback = await client.get(URL("/demo/callback" + query, encoded=True))
    start = await client.get(URL("/demo/" + query, encoded=True))
    texts = [await callback.text(), await start.text()]

    assert [callback.status, start.status] == [200, 200]
    assert ["alert(1)" in text or "<b>" in text for text in texts] == [False, False]
    assert "script-src 'self'" in callback.headers["Content-Security-Policy"]
    assert callback.headers["Referrer-Policy"] == "no-referrer"


async def test_demo_assets_are_served(make_client: ClientFactory) -> None:
    client = await make_client()

    script = await client.get("/demo/demo.js")
    style = await client.get("/demo/demo.css")
    wizard_style = await client.get("/v1/wizard.css")
    bare = await client.get("/demo", allow_redirects=False)

    assert script.content_type == "text/javascript"
    assert "textContent" in await script.text()
    assert style.content_type == "text/css"
    assert wizard_style.content_type == "text/css"
    assert bare.headers["Location"] == "/demo/"


async def test_mint_endpoint_returns_live_token(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.post(
        "/_mock/connection-data",
        json={"organizationId": ORGANIZATIONS[1].id, "issuedTo": "ci@example.com"},
    )
    body = await response.json()

    assert response.status == 200
    assert body["fields"]["organization"]["id"] == ORGANIZATIONS[1].id
    assert body["fields"]["issuedTo"] == "ci@example.com"
    assert await put_value(client, body["connectionData"]) == "registered"


async def test_mint_endpoint_without_body(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.post("/_mock/connection-data")
    body = await response.json()

    assert response.status == 200
    assert body["fields"]["organization"]["id"] == ORGANIZATIONS[0].id
    assert session_of_client(client).tokens.is_live(body["connectionData"])


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"{", "body", "body: expected a JSON object, found 'invalid JSON: "),
        (b"[1]", "body", "body: expected a JSON object, found [1]"),
        (
            b'{"organizationId": "nope"}',
            "organizationId",
            "organizationId: expected one of ",
        ),
        (
            b'{"issuedTo": 7}',
            "issuedTo",
            "issuedTo: expected a string of 1 to 128 characters, found 7",
        ),
        (b" " * 4097, "body", "body: expected a JSON object of at most 4096 bytes"),
    ],
    ids=[
        "malformed",
        "not-object",
        "unknown-organization",
        "bad-issued-to",
        "too-large",
    ],
)
async def test_mint_endpoint_rejects_body(
    make_client: ClientFactory, body: bytes, field: str, message: str
) -> None:
    client = await make_client()

    response = await client.post(
        "/_mock/connection-data",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    error = (await response.json())["error"]

    assert response.status == 400
    assert error["status"] == 400
    assert error["field"] == field
    assert error["message"].startswith(message)

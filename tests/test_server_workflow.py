"""The reference's nine-step registration workflow over HTTP, wizard in auto mode.

The client plays the browser of the custom page: it follows the wizard's redirects
and sends the connectionData from the callback URL with the update API.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import (
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    session_of_client,
    update_body,
)
from yarl import URL

Client = TestClient[web.Request, web.Application]


async def read_registration(
    client: Client, callback_url: str | None = None
) -> dict[str, str]:
    """Steps 2 and 4: GET the registration, as JSON, with an optional callbackUrl."""
    params = {"callbackUrl": callback_url} if callback_url else {}
    response = await client.get(
        REGISTRATION_PATH, params=params, headers={"Accept": "application/json"}
    )
    assert response.status == 200
    body = await response.json()
    assert isinstance(body, dict)
    return body


async def follow_wizard(client: Client, wizard_url: str) -> URL:
    """Steps 5 to 7: open the wizard URL, follow its redirects, return the last URL."""
    response = await client.session.get(URL(wizard_url, encoded=True))
    assert response.status == 200
    assert [item.status for item in response.history] == [303]
    return response.url


async def test_nine_steps_register_then_deregister(make_client: ClientFactory) -> None:
    client = await make_client(wizard_mode="auto")
    callback_url = str(client.make_url("/demo/callback"))

    page = await client.get("/demo/")
    first = await read_registration(client)
    with_callback = await read_registration(client, callback_url)
    landed = await follow_wizard(client, with_callback["registrationUrl"])
    connection_data = landed.query["connectionData"]
    update = await client.put(
        REGISTRATION_PATH, data=update_body(connection_data), headers=XML
    )
    registered = await read_registration(client, callback_url)

    assert page.status == 200
    assert first["state"] == "notRegistered"
    assert landed.path == "/demo/callback"
    assert set(connection_data) >= set("+/=")
    assert update.status == 200
    assert registered["state"] == "registered"
    assert registered["managementUrl"] == str(client.make_url("/management"))

    back = await follow_wizard(client, registered["deregistrationUrl"])
    revoked = await read_registration(client)
    clear = await client.put(REGISTRATION_PATH, data=update_body(""), headers=XML)
    final = await read_registration(client, callback_url)

    assert back.path == "/demo/callback"
    assert back.query.getall("connectionData") == [""]
    assert revoked["state"] == "invalid"
    assert clear.status == 200
    assert final["state"] == "notRegistered"
    assert "registrationUrl" in final
    assert session_of_client(client).store.current.connection_data == ""


async def test_nine_steps_reregister_after_revocation(
    make_client: ClientFactory,
) -> None:
    client = await make_client(wizard_mode="auto")
    callback_url = str(client.make_url("/demo/callback"))
    tokens = session_of_client(client).tokens
    stale = tokens.mint().value
    await client.put(REGISTRATION_PATH, data=update_body(stale), headers=XML)
    tokens.revoke(stale)

    invalid = await read_registration(client, callback_url)
    rejected = await client.put(
        REGISTRATION_PATH,
        data=update_body(tokens.mint().value),
        headers=XML,
    )
    await client.put(REGISTRATION_PATH, data=update_body(""), headers=XML)
    again = await read_registration(client, callback_url)
    landed = await follow_wizard(client, again["registrationUrl"])
    update = await client.put(
        REGISTRATION_PATH,
        data=update_body(landed.query["connectionData"]),
        headers=XML,
    )
    final = await read_registration(client)

    assert invalid["state"] == "invalid"
    assert "registrationUrl" in invalid
    assert rejected.status == 400
    assert again["state"] == "notRegistered"
    assert update.status == 200
    assert final["state"] == "registered"

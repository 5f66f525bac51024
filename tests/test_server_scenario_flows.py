"""Bundled scenarios whose faults hit devices or the wizard, run over real HTTP.

Each test plays a client through the flow a scenario's description names and checks
what that description promises the client observes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from xml.etree import ElementTree

import aiohttp
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from conftest import (
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    devices_by_name,
    session_of_client,
    update_body,
    wait_until_syncing,
)

from mockserver.scenario import FAULT_HEADER, load_scenario
from mockserver.scenario.apply import scenario_settings

CALLBACK_URL = "http://127.0.0.1:9/done"
CALLBACK = {"callbackUrl": CALLBACK_URL}
JOURNAL_PATH = "/_mock/journal"

Client = TestClient[web.Request, web.Application]


async def start(make_client: ClientFactory, name: str | Path) -> Client:
    """Start a server with the scenario given by bundled name or file."""
    return await make_client(**scenario_settings(load_scenario(name)))


def live_token(client: Client) -> str:
    """Return a connectionData token the server behind ``client`` reports as live."""
    return session_of_client(client).tokens.mint().value


async def put(client: Client, value: str) -> ClientResponse:
    """PUT ``value`` as connectionData."""
    return await client.put(REGISTRATION_PATH, data=update_body(value), headers=XML)


async def registration(
    client: Client, params: dict[str, str] | None = None
) -> ElementTree.Element:
    """Return the parsed body of a GET of the registration."""
    response = await client.get(REGISTRATION_PATH, params=params)
    assert response.status == 200
    return ElementTree.fromstring(await response.text())


async def fetch(client: Client, url: str) -> bytes:
    """Return the body at ``url``, without following redirects."""
    async with client.session.get(url, allow_redirects=False) as response:
        return await response.read()


def api_errors(body: str) -> list[dict[str, str]]:
    """Return each apiError of an apiErrors body as a mapping of its fields."""
    root = ElementTree.fromstring(body)
    assert root.tag == "apiErrors"
    return [
        {field.tag: field.text or "" for field in error}
        for error in root.iter("apiError")
    ]


async def test_partial_sync__201_names_finesse(make_client: ClientFactory) -> None:
    client = await start(make_client, "partial-sync")
    token = live_token(client)

    response = await put(client, token)
    errors = api_errors(await response.text())
    after = await registration(client)
    devices = await devices_by_name(client)

    assert response.status == 201
    assert len(errors) == 1
    assert errors[0]["errorType"] == "PARTIAL_SUCCESS"
    assert errors[0]["errorData"] == "finesse-1"
    assert after.findtext("state") == "registered"
    assert devices["finesse-1"]["inSync"] is False
    assert devices["finesse-1"]["lastError"]
    assert devices["finesse-1"]["connectionData"] == ""
    for name in ("cvp-1", "socialminer-1"):
        assert devices[name]["inSync"] is True
        assert devices[name]["connectionData"] == token


async def test_flaky_device__retry_until_200(make_client: ClientFactory) -> None:
    client = await start(make_client, "flaky-device")
    token = live_token(client)

    responses = [await put(client, token) for _ in range(3)]
    bodies = [await response.text() for response in responses]
    devices = await devices_by_name(client)

    assert [response.status for response in responses] == [201, 201, 200]
    for body in bodies[:2]:
        errors = api_errors(body)
        assert [error["errorType"] for error in errors] == ["PARTIAL_SUCCESS"]
        assert [error["errorData"] for error in errors] == ["finesse-1"]
    assert (await registration(client)).findtext("state") == "registered"
    assert {name: device["inSync"] for name, device in devices.items()} == {
        "cvp-1": True,
        "finesse-1": True,
        "socialminer-1": True,
    }
    assert devices["finesse-1"]["connectionData"] == token


async def test_slow_devices__busy_while_syncing(make_client: ClientFactory) -> None:
    client = await start(make_client, "slow-devices")
    token = live_token(client)
    version = session_of_client(client).store.current.version

    first = asyncio.create_task(put(client, token))
    await wait_until_syncing(client)
    started = time.monotonic()
    during = await registration(client)
    elapsed = time.monotonic() - started
    second = await put(client, token)
    second_body = await second.text()
    first_response = await first
    devices = await devices_by_name(client)

    assert elapsed < 1.0, "a GET must not wait for the devices"
    # The value is stored before the devices sync, so the GET already reads registered.
    assert during.findtext("state") == "registered"
    assert session_of_client(client).store.current.version == version + 1
    assert second.status == 503
    assert second.headers["Retry-After"]
    assert [error["errorType"] for error in api_errors(second_body)] == ["SERVER_BUSY"]
    assert first_response.status == 200
    assert all(device["inSync"] for device in devices.values())


async def test_wizard_cancelled__callback_without_data(
    make_client: ClientFactory,
) -> None:
    client = await start(make_client, "wizard-cancelled")

    before = await registration(client, CALLBACK)
    url = before.findtext("registrationUrl")
    assert url
    response = await client.session.get(url, allow_redirects=False)
    after = await registration(client)

    assert response.status == 303
    assert response.headers["Location"] == f"{CALLBACK_URL}?error=access_denied"
    assert "connectionData" not in response.headers["Location"]
    assert before.findtext("state") == "notRegistered"
    assert after.findtext("state") == "notRegistered"


async def test_wizard_unreachable__connection_fails(make_client: ClientFactory) -> None:
    client = await start(make_client, "wizard-unreachable")

    before = await registration(client, CALLBACK)
    url = before.findtext("registrationUrl")
    assert url
    with pytest.raises((aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        await fetch(client, url)
    after = await registration(client, CALLBACK)

    assert before.findtext("state") == "notRegistered"
    assert after.findtext("state") == "notRegistered"
    assert after.findtext("registrationUrl") == url


async def test_device_fault_file__journal_names_rule(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    scenario = tmp_path / "cvp-fails-once.yaml"
    scenario.write_text(
        "name: cvp-fails-once\n"
        "faults:\n"
        "  - target: device:cvp-1\n"
        "    nth: 1\n"
        "    action:\n"
        "      status: 500\n",
        encoding="utf-8",
    )
    client = await start(make_client, scenario)
    token = live_token(client)

    first = await put(client, token)
    errors = api_errors(await first.text())
    second = await put(client, token)
    journal = await client.get(JOURNAL_PATH, params={"path": "/_devices/cvp-1/*"})
    entries = (await journal.json())["entries"]

    assert first.status == 201
    assert [error["errorData"] for error in errors] == ["cvp-1"]
    assert second.status == 200
    assert [(entry["role"], entry["status"]) for entry in entries] == [
        ("devices", 500),
        ("devices", 200),
    ]
    assert entries[0]["fault"].startswith("rule 0: ")
    assert "device:cvp-1" in entries[0]["fault"]
    assert entries[1]["fault"] is None


async def test_unauthorize_fault__registration_kept(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    scenario = tmp_path / "deregistration-fails.yaml"
    scenario.write_text(
        "name: deregistration-fails\n"
        "registration: {mint: true}\n"
        "faults:\n"
        "  - target: wizard.unauthorize\n"
        "    times: 1\n"
        "    action: {status: 502}\n",
        encoding="utf-8",
    )
    client = await start(make_client, scenario)
    stored = session_of_client(client).store.current.connection_data

    before = await registration(client, CALLBACK)
    url = before.findtext("deregistrationUrl")
    assert url
    failed = await client.session.get(url, allow_redirects=False)
    failed_body = await failed.text()
    after = await registration(client)
    retried = await client.session.get(url, allow_redirects=False)

    assert before.findtext("state") == "registered"
    assert failed.status == 502
    assert failed.headers[FAULT_HEADER] == "rule 0 (wizard.unauthorize)"
    assert [error["errorType"] for error in api_errors(failed_body)] == [
        "mock.scriptedFault"
    ]
    assert after.findtext("state") == "registered"
    assert session_of_client(client).tokens.is_live(stored)
    assert retried.status == 200, "the rule fires once; then the page shows"

"""The control API's /_mock/scenario and /_mock/reset over real HTTP."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

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

from mockserver.scenario import bundled_scenarios, load_scenario, parse_scenario
from mockserver.scenario.apply import scenario_settings

SCENARIO_PATH = "/_mock/scenario"
RESET_PATH = "/_mock/reset"
JOURNAL_PATH = "/_mock/journal"
YAML = {"Content-Type": "application/yaml"}
# Seconds the command-line validation may take.
PATIENCE = 60
# A scenario whose CVP takes a second to sync, so a test can act while it runs.
SLOW_CVP = """\
name: slow-cvp
faults:
  - target: device:cvp-1
    action: {delay: 1}
"""
INVALID = """\
name: broken
seed: lots
wizard:
  mode: page
faults:
  - target: device:finesse-b
    actoin: {status: 500}
"""

Client = TestClient[web.Request, web.Application]


async def start(make_client: ClientFactory, name: str) -> Client:
    """Start a server with bundled scenario ``name``."""
    return await make_client(**scenario_settings(load_scenario(name)))


async def start_text(make_client: ClientFactory, text: str) -> Client:
    """Start a server with the scenario given as YAML text."""
    return await make_client(**scenario_settings(parse_scenario(text)))


def live_token(client: Client) -> str:
    """Return a connectionData token the server behind ``client`` reports as live."""
    return session_of_client(client).tokens.mint().value


async def put(client: Client, value: str) -> ClientResponse:
    """PUT ``value`` as connectionData."""
    return await client.put(REGISTRATION_PATH, data=update_body(value), headers=XML)


async def scenario_of(client: Client) -> dict[str, Any]:
    """Return the body of GET /_mock/scenario."""
    response = await client.get(SCENARIO_PATH)
    assert response.status == 200
    document: dict[str, Any] = await response.json()
    return document


def counters(document: dict[str, Any]) -> list[tuple[int, int]]:
    """Return (calls, firings) of each fault rule of a /_mock/scenario body."""
    return [(fault["calls"], fault["firings"]) for fault in document["faults"]]


async def test_get__active_scenario_and_counters(make_client: ClientFactory) -> None:
    client = await start(make_client, "flaky-device")

    before = await scenario_of(client)
    token = live_token(client)
    statuses = [(await put(client, token)).status for _ in range(3)]
    after = await scenario_of(client)

    assert before["name"] == "flaky-device"
    assert before["description"].startswith("Finesse fails its first two syncs")
    assert [device["name"] for device in before["devices"]] == [
        "cvp-1",
        "finesse-1",
        "socialminer-1",
    ]
    assert [fault["target"] for fault in before["faults"]] == ["device:finesse-1"]
    assert counters(before) == [(0, 0)]
    assert statuses == [201, 201, 200]
    assert counters(after) == [(3, 2)]
    assert before["bundled"] == [path.stem for path in bundled_scenarios()]


async def test_put_json_name__switches(make_client: ClientFactory) -> None:
    client = await start(make_client, "happy-path")

    response = await client.put(SCENARIO_PATH, json={"name": "partial-sync"})
    document = await response.json()
    update = await put(client, live_token(client))

    assert response.status == 200
    assert document["name"] == "partial-sync"
    assert (await scenario_of(client))["name"] == "partial-sync"
    assert update.status == 201
    assert "<errorData>finesse-1</errorData>" in await update.text()


async def test_put_yaml_document__switches(make_client: ClientFactory) -> None:
    client = await start(make_client, "happy-path")
    text = (
        "name: get-fails\n"
        "description: Every GET fails with 502.\n"
        "faults:\n"
        "  - target: config.get\n"
        "    action: {status: 502}\n"
    )

    response = await client.put(SCENARIO_PATH, data=text, headers=YAML)
    document = await response.json()
    get = await client.get(REGISTRATION_PATH)

    assert response.status == 200
    assert document["name"] == "get-fails"
    assert document["source"] == "<request body>"
    assert document["description"] == "Every GET fails with 502."
    assert get.status == 502
    assert counters(await scenario_of(client)) == [(1, 1)]


async def test_put_yaml_bare_name__switches(make_client: ClientFactory) -> None:
    client = await start(make_client, "happy-path")

    response = await client.put(SCENARIO_PATH, data="registered\n", headers=YAML)
    document = await response.json()
    get = await client.get(REGISTRATION_PATH)

    assert response.status == 200
    assert document["name"] == "registered"
    assert document["registration"]["mint"] is True
    assert "<state>registered</state>" in await get.text()


async def test_put_invalid_yaml__lines_as_validate(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await start(make_client, "flaky-device")
    saved = tmp_path / "broken.yaml"
    saved.write_text(INVALID, encoding="utf-8")
    validate = subprocess.run(
        [sys.executable, "-m", "mockserver", "validate", str(saved)],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    expected = [
        line.replace(str(saved), "<request body>", 1)
        for line in validate.stderr.splitlines()
    ]

    response = await client.put(SCENARIO_PATH, data=INVALID, headers=YAML)
    document = await response.json()

    assert validate.returncode == 1
    assert len(expected) >= 3, validate.stderr
    assert all(line.startswith("<request body>:") for line in expected)
    assert response.status == 400
    assert document["error"]["lines"] == expected
    assert (await scenario_of(client))["name"] == "flaky-device"


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"json": {"name": "no-such-scenario"}}, {}),
        ({"data": "no-such-scenario"}, YAML),
    ],
    ids=["json", "yaml"],
)
async def test_put_unknown_name__404_lists_names(
    make_client: ClientFactory, body: dict[str, Any], headers: dict[str, str]
) -> None:
    client = await start(make_client, "partial-sync")

    response = await client.put(SCENARIO_PATH, headers=headers, **body)
    error = (await response.json())["error"]

    assert response.status == 404
    assert error["field"] == "name"
    assert error["value"] == "no-such-scenario"
    for path in bundled_scenarios():
        assert path.stem in error["expected"]
    assert (await scenario_of(client))["name"] == "partial-sync"


async def test_put_while_updating__409(make_client: ClientFactory) -> None:
    client = await start_text(make_client, SLOW_CVP)
    update = asyncio.create_task(put(client, live_token(client)))
    await wait_until_syncing(client)

    response = await client.put(SCENARIO_PATH, json={"name": "partial-sync"})
    during = await scenario_of(client)
    updated = await update
    after = await scenario_of(client)

    assert response.status == 409
    assert response.headers["Retry-After"]
    assert during["name"] == "slow-cvp"
    assert updated.status == 200
    assert after["name"] == "slow-cvp"
    assert counters(after) == [(1, 1)]
    assert (
        "<state>registered</state>"
        in await (await client.get(REGISTRATION_PATH)).text()
    )


async def test_put__overrides_win(make_client: ClientFactory) -> None:
    client = await make_client(
        **{**scenario_settings(load_scenario("happy-path")), "profile": "observed"}
    )
    session = session_of_client(client)
    session.overrides = {"profile": "observed"}

    response = await client.put(SCENARIO_PATH, json={"name": "registered"})
    body = await (await client.get(REGISTRATION_PATH)).text()

    assert response.status == 200
    assert load_scenario("registered").profile == "documented"
    assert session.scenario.name == "registered"
    assert session.settings.profile == "observed"
    assert "<permissionInfo>" in body


async def test_reset__puts_scenario_start_back(make_client: ClientFactory) -> None:
    client = await start_text(
        make_client,
        "name: reset-case\n"
        "registration: {mint: true}\n"
        "faults:\n"
        "  - target: device:finesse-1\n"
        "    nth: 1\n"
        "    action: {status: 500}\n"
        "  - target: config.get\n"
        "    nth: 1\n"
        "    action: {status: 502}\n",
    )
    session = session_of_client(client)
    initial = session.store.current.connection_data
    failed_get = await client.get(REGISTRATION_PATH)
    session.tokens.revoke(initial)
    revoked = await (await client.get(REGISTRATION_PATH)).text()
    deregistered = await put(client, "")
    registered = await put(client, live_token(client))
    changed = await scenario_of(client)
    synced = await devices_by_name(client)

    response = await client.post(RESET_PATH)
    state = await response.json()
    # Control requests are not recorded and use up no fault rule.
    journal = await (await client.get(JOURNAL_PATH)).json()
    document = await scenario_of(client)
    devices = await devices_by_name(client)
    after = await client.get(REGISTRATION_PATH)
    again = await client.get(REGISTRATION_PATH)

    assert failed_get.status == 502
    assert "<state>invalid</state>" in revoked
    assert deregistered.status == 201
    assert registered.status == 200
    assert counters(changed) == [(2, 1), (2, 1)]
    assert all(device["syncCount"] == 2 for device in synced.values())
    assert response.status == 200
    assert state["state"] == "registered"
    assert state["connectionData"] == initial
    assert journal["entries"] == []
    assert journal["recorded"] == 0
    assert counters(document) == [(0, 0), (0, 0)]
    assert {
        name: (device["version"], device["syncCount"], device["connectionData"])
        for name, device in devices.items()
    } == {name: (0, 0, initial) for name in ("cvp-1", "finesse-1", "socialminer-1")}
    # The first GET after the reset is the config.get rule's first call again.
    assert after.status == 502
    assert "<state>registered</state>" in await again.text()


async def test_reset_while_updating__409(make_client: ClientFactory) -> None:
    client = await start_text(make_client, SLOW_CVP)
    token = live_token(client)
    update = asyncio.create_task(put(client, token))
    await wait_until_syncing(client)

    response = await client.post(RESET_PATH)
    body = await response.json()
    updated = await update
    state = session_of_client(client).store.current.connection_data

    assert response.status == 409
    assert response.headers["Retry-After"]
    assert body["error"]["status"] == 409
    assert updated.status == 200
    assert state == token
    assert counters(await scenario_of(client)) == [(1, 1)]

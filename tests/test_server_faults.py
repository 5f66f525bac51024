"""Fault rules of config.get, config.put and database.write over real HTTP."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from conftest import (
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    session_of_client,
    update_body,
)

from mockserver.app import build_app
from mockserver.scenario import (
    FAULT_HEADER,
    inject_fault,
    load_scenario,
    parse_scenario,
)
from mockserver.scenario.apply import scenario_settings, settings_for
from mockserver.session import session_of

DATA = Path(__file__).parent / "data" / "scenarios"
JSON_ACCEPT = {"Accept": "application/json"}

Client = TestClient[web.Request, web.Application]


async def start(make_client: ClientFactory, yaml_text: str) -> Client:
    """Start a server with the scenario given as YAML text."""
    scenario = parse_scenario(f"name: test\n{yaml_text}")
    return await make_client(**scenario_settings(scenario))


async def test_get_fault__status_with_api_errors(make_client: ClientFactory) -> None:
    client = await start(
        make_client,
        "faults:\n  - target: config.get\n    action:\n      status: 502\n"
        "      errorType: mock.gateway\n      message: Upstream failed.\n",
    )

    response = await client.get(REGISTRATION_PATH)

    assert response.status == 502
    assert response.headers[FAULT_HEADER] == "rule 0 (config.get)"
    assert await response.text() == (
        "<apiErrors><apiError><errorMessage>Upstream failed.</errorMessage>"
        "<errorType>mock.gateway</errorType></apiError></apiErrors>"
    )


async def test_get_fault__json_and_default_error(make_client: ClientFactory) -> None:
    client = await start(
        make_client, "faults:\n  - target: config.get\n    action: {status: 500}\n"
    )

    response = await client.get(REGISTRATION_PATH, headers=JSON_ACCEPT)

    assert response.status == 500
    assert await response.json() == {
        "apiErrors": {
            "apiError": [
                {
                    "errorMessage": "Fault rule 0 of the scenario returned status 500.",
                    "errorType": "mock.scriptedFault",
                }
            ]
        }
    }


async def test_put_fault__calls_two_to_three(make_client: ClientFactory) -> None:
    client = await start(
        make_client,
        "faults:\n  - target: config.put\n    from: 2\n    to: 3\n"
        "    action: {status: 503}\n",
    )

    statuses = []
    for _ in range(4):
        response = await client.put(
            REGISTRATION_PATH, data=update_body("abc"), headers=XML
        )
        statuses.append(response.status)

    assert statuses == [200, 503, 503, 200]


async def test_put_fault__xpath_on_body(make_client: ClientFactory) -> None:
    client = await start(
        make_client,
        "faults:\n  - target: config.put\n"
        "    match: {xpath: \"connectionData = 'forged'\"}\n"
        "    action: {status: 400, errorType: mock.forged}\n",
    )

    forged = await client.put(
        REGISTRATION_PATH, data=update_body("forged"), headers=XML
    )
    genuine = await client.put(REGISTRATION_PATH, data=update_body("real"), headers=XML)

    assert forged.status == 400
    assert "<errorType>mock.forged</errorType>" in await forged.text()
    assert genuine.status == 200


async def test_database_write_fault__nothing_stored(make_client: ClientFactory) -> None:
    client = await make_client(**scenario_settings(load_scenario("database-failure")))

    put = await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)
    get = await client.get(REGISTRATION_PATH)

    assert put.status == 500
    assert "<errorType>DATABASE_ERROR</errorType>" in await put.text()
    assert "<state>notRegistered</state>" in await get.text()


async def test_database_write_fault__second_write_only(
    make_client: ClientFactory,
) -> None:
    client = await start(
        make_client,
        "accept_any_connection_data: true\n"
        "faults:\n  - target: database.write\n    nth: 2\n"
        "    action: {status: 507, errorType: mock.diskFull, message: Disk full.}\n",
    )

    first = await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)
    second = await client.put(REGISTRATION_PATH, data=update_body(""), headers=XML)
    get = await client.get(REGISTRATION_PATH)

    assert first.status == 200
    assert second.status == 507
    assert "<errorType>mock.diskFull</errorType>" in await second.text()
    assert "<state>registered</state>" in await get.text()


@pytest.mark.parametrize(
    ("action", "status", "body"),
    [
        ("{empty: true}", 200, b""),
        ("{empty: true, status: 204}", 204, b""),
        ("{malformed: true}", 200, b"<contextServiceRegistration><state>regist"),
    ],
    ids=["empty", "empty-204", "malformed"],
)
async def test_get_fault__broken_bodies(
    make_client: ClientFactory, action: str, status: int, body: bytes
) -> None:
    client = await start(
        make_client, f"faults:\n  - target: config.get\n    action: {action}\n"
    )

    response = await client.get(REGISTRATION_PATH)

    assert response.status == status
    assert await response.read() == body


async def test_get_fault__dropped_connection(make_client: ClientFactory) -> None:
    client = await start(
        make_client,
        "faults:\n  - target: config.get\n    nth: 1\n    action: {drop: true}\n",
    )

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.get(REGISTRATION_PATH)
    after = await client.get(REGISTRATION_PATH)

    assert after.status == 200


async def test_get_fault__timeout_outlasts_client(make_client: ClientFactory) -> None:
    client = await start(
        make_client, "faults:\n  - target: config.get\n    action: {timeout: 1.5}\n"
    )
    patience = aiohttp.ClientTimeout(total=0.3)

    with pytest.raises(TimeoutError):
        await client.get(REGISTRATION_PATH, timeout=patience)


async def test_get_fault__delay_then_normal_answer(make_client: ClientFactory) -> None:
    client = await start(
        make_client, "faults:\n  - target: config.get\n    action: {delay: 0.3}\n"
    )

    started = time.monotonic()
    response = await client.get(REGISTRATION_PATH)
    elapsed = time.monotonic() - started

    assert response.status == 200
    assert "<state>notRegistered</state>" in await response.text()
    assert elapsed >= 0.3


async def test_get_fault__invalidates_registration(make_client: ClientFactory) -> None:
    client = await start(
        make_client,
        "registration: {mint: true}\nfaults:\n  - target: config.get\n    nth: 2\n"
        "    action: {invalidate: true}\n",
    )

    first = await client.get(REGISTRATION_PATH)
    second = await client.get(REGISTRATION_PATH)

    assert "<state>registered</state>" in await first.text()
    assert "<state>invalid</state>" in await second.text()


async def test_busy_window__put_recovers_after_it(make_client: ClientFactory) -> None:
    client = await start(
        make_client,
        "faults:\n  - target: config.put\n    nth: 1\n    action: {busy: 0.4}\n",
    )

    opening = await client.put(REGISTRATION_PATH, data=update_body("a"), headers=XML)
    inside = await client.put(REGISTRATION_PATH, data=update_body("a"), headers=XML)
    await asyncio.sleep(0.5)
    after = await client.put(REGISTRATION_PATH, data=update_body("a"), headers=XML)

    assert (opening.status, opening.headers["Retry-After"]) == (503, "1")
    assert "<errorType>SERVER_BUSY</errorType>" in await opening.text()
    assert inside.status == 503
    assert after.status == 200


async def test_concurrent_requests__nth_fires_once(make_client: ClientFactory) -> None:
    client = await start(
        make_client,
        "faults:\n  - target: config.get\n    nth: 25\n    action: {status: 500}\n",
    )

    responses = await asyncio.gather(
        *(client.get(REGISTRATION_PATH) for _ in range(50))
    )
    statuses = sorted(response.status for response in responses)

    assert statuses == [200] * 49 + [500]
    assert session_of_client(client).faults.calls == (50,)


async def test_head_and_options_do_not_use_up_fault(make_client: ClientFactory) -> None:
    client = await start(
        make_client,
        "faults:\n  - target: config.get\n    nth: 1\n    action: {status: 500}\n",
    )

    head = await client.head(REGISTRATION_PATH)
    options = await client.options(REGISTRATION_PATH)
    get = await client.get(REGISTRATION_PATH)

    assert head.status == 200
    assert options.status == 200
    assert get.status == 500


async def replay(client: Client) -> list[int]:
    """Send a fixed sequence of GETs and PUTs and return the statuses."""
    statuses = []
    for step in range(12):
        if step % 3 == 2:
            response = await client.put(
                REGISTRATION_PATH, data=update_body("abc"), headers=XML
            )
        else:
            response = await client.get(REGISTRATION_PATH)
        statuses.append(response.status)
    return statuses


async def test_same_scenario_replays_same_answers(make_client: ClientFactory) -> None:
    settings = scenario_settings(load_scenario(DATA / "counters.yaml"))
    first = await make_client(**settings)
    second = await make_client(**settings)

    first_run = await replay(first)
    second_run = await replay(second)
    session_of_client(first).faults.reset()
    session_of_client(first).store.reset()
    reset_run = await replay(first)

    assert first_run == second_run == reset_run
    assert {500, 503, 409} <= set(first_run)


async def device_stand_in(request: web.Request) -> web.StreamResponse:
    """Play a device simulator's PUT handler, the way the device role hooks in."""
    session = session_of(request)
    raw = await request.read()
    response = await inject_fault(session, "device:finesse-1", request, body=raw)
    if response is not None:
        return response
    return web.Response(text="stored")


async def test_device_target__seam_over_http(
    unused_tcp_port: int,
) -> None:
    scenario = load_scenario("flaky-device")
    app = build_app(settings_for(scenario, {"port": unused_tcp_port}))
    app.router.add_put("/_devices/finesse-1/contextservice", device_stand_in)
    client = TestClient(TestServer(app, host="127.0.0.1", port=unused_tcp_port))
    await client.start_server()

    try:
        statuses = []
        for _ in range(3):
            response = await client.put("/_devices/finesse-1/contextservice", data="x")
            statuses.append(response.status)
        fired = session_of_client(client).faults.firings
    finally:
        await client.close()

    assert statuses == [500, 500, 200]
    assert fired == (2,)

"""Each bundled scenario gives the outcome its description promises.

Scenarios whose faults target devices or the wizard are checked at the engine: the
rules fire on the syncs and wizard steps the description names.
"""

from __future__ import annotations

import asyncio

from aiohttp import encode_basic_auth, web
from aiohttp.test_utils import TestClient
from conftest import (
    ADMIN,
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    session_of_client,
    update_body,
)

from mockserver.scenario import FaultEngine, RequestView, load_scenario, parse_scenario
from mockserver.scenario.apply import scenario_settings

CALLBACK = {"callbackUrl": "http://127.0.0.1:9/done"}

Client = TestClient[web.Request, web.Application]


async def start(make_client: ClientFactory, name: str, **options: object) -> Client:
    """Start a server with bundled scenario ``name``."""
    return await make_client(**scenario_settings(load_scenario(name)), **options)


async def state_of(
    client: Client,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """Return the body of a GET of the registration."""
    response = await client.get(REGISTRATION_PATH, params=params, headers=headers)
    assert response.status == 200
    return await response.text()


async def put(client: Client, value: str, headers: dict[str, str] | None = None) -> int:
    """PUT ``value`` as connectionData and return the status."""
    response = await client.put(
        REGISTRATION_PATH, data=update_body(value), headers={**XML, **(headers or {})}
    )
    return response.status


def live_token(client: Client) -> str:
    """Return a connectionData token the server behind ``client`` reports as live."""
    return session_of_client(client).tokens.mint().value


async def test_happy_path__register(make_client: ClientFactory) -> None:
    client = await start(make_client, "happy-path")

    before = await state_of(client, params=CALLBACK)
    status = await put(client, live_token(client))
    after = await state_of(client)

    assert "<state>notRegistered</state>" in before
    assert "<registrationUrl>" in before
    assert status == 200
    assert "<state>registered</state>" in after
    assert "<managementUrl>" in after


async def test_registered__deregister_first(make_client: ClientFactory) -> None:
    client = await start(make_client, "registered")

    before = await state_of(client, params=CALLBACK)
    other = await client.put(REGISTRATION_PATH, data=update_body("other"), headers=XML)
    cleared = await put(client, "")
    after = await state_of(client)

    assert "<state>registered</state>" in before
    assert "<deregistrationUrl>" in before
    assert other.status == 400
    assert "<errorType>invalidInput.deregisterFirst</errorType>" in await other.text()
    assert cleared == 200
    assert "<state>notRegistered</state>" in after


async def test_invalid_connection_data__reregister(make_client: ClientFactory) -> None:
    client = await start(make_client, "invalid-connection-data")

    before = await state_of(client, params=CALLBACK)
    cleared = await put(client, "")
    middle = await state_of(client)
    registered = await put(client, live_token(client))
    after = await state_of(client)

    assert "<state>invalid</state>" in before
    assert "<registrationUrl>" in before
    assert "<managementUrl>" not in before
    assert cleared == 200
    assert "<state>notRegistered</state>" in middle
    assert registered == 200
    assert "<state>registered</state>" in after


async def test_busy_sync__retry_after_succeeds(make_client: ClientFactory) -> None:
    client = await start(make_client, "busy-sync")

    first = await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)
    second = await put(client, "abc")
    get_status = (await client.get(REGISTRATION_PATH)).status
    await asyncio.sleep(float(first.headers["Retry-After"]) + 0.1)
    retry = await put(client, "abc")

    assert first.status == 503
    assert first.headers["Retry-After"] == "2"
    assert "<errorType>SERVER_BUSY</errorType>" in await first.text()
    assert second == 503
    assert get_status == 200
    assert retry == 200


async def test_database_failure__nothing_changes(make_client: ClientFactory) -> None:
    client = await start(make_client, "database-failure")

    response = await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)
    after = await state_of(client)

    assert response.status == 500
    assert "<errorType>DATABASE_ERROR</errorType>" in await response.text()
    assert "<state>notRegistered</state>" in after


async def test_auth_required__only_scenario_user(make_client: ClientFactory) -> None:
    client = await start(make_client, "auth-required", credentials=False)
    user = {"Authorization": encode_basic_auth("ccadmin@example.com", "s3cret")}
    wrong = {"Authorization": encode_basic_auth("ccadmin@example.com", "wrong")}

    anonymous = await client.get(REGISTRATION_PATH)
    default_account = await client.get(REGISTRATION_PATH, headers=ADMIN)
    wrong_password = await client.get(REGISTRATION_PATH, headers=wrong)
    status = await put(client, live_token(client), headers=user)
    after = await state_of(client, headers=user)

    assert anonymous.status == 401
    assert "WWW-Authenticate" in anonymous.headers
    assert default_account.status == 401
    assert wrong_password.status == 401
    assert status == 200
    assert "<state>registered</state>" in after


def engine_of(name: str) -> FaultEngine:
    """Return a fault engine for bundled scenario ``name``."""
    scenario = load_scenario(name)
    return FaultEngine(scenario.faults, seed=scenario.seed)


SYNC = RequestView.of("PUT", "/_devices/finesse-1/contextservice")


def test_partial_sync__finesse_always_dropped() -> None:
    engine = engine_of("partial-sync")

    fired = [engine.fire("device:finesse-1", SYNC) for _ in range(3)]
    others = [
        engine.fire(f"device:{name}", SYNC) for name in ("cvp-1", "socialminer-1")
    ]

    assert [fault.action.response if fault else None for fault in fired] == ["drop"] * 3
    assert others == [None, None]


def test_flaky_device__fails_two_syncs_then_recovers() -> None:
    engine = engine_of("flaky-device")

    fired = [engine.fire("device:finesse-1", SYNC) for _ in range(4)]

    assert [fault.action.status if fault else None for fault in fired] == [
        500,
        500,
        None,
        None,
    ]


def test_slow_devices__delays_per_device() -> None:
    engine = engine_of("slow-devices")

    delays = {
        name: fault.action.delay
        for name in ("cvp-1", "finesse-1", "socialminer-1")
        if (fault := engine.fire(f"device:{name}", SYNC)) is not None
    }

    assert delays == {"cvp-1": 2.0, "finesse-1": 1.0}


def test_wizard_scenarios__authorize_faults() -> None:
    authorize = RequestView.of("GET", "/v1/authorize")
    cancelled = engine_of("wizard-cancelled").fire("wizard.authorize", authorize)
    unreachable = engine_of("wizard-unreachable").fire("wizard.authorize", authorize)

    assert cancelled is not None
    assert cancelled.action.response == "cancel"
    assert unreachable is not None
    assert unreachable.action.response == "unreachable"


async def test_scenario_sets_profile_and_auth_off(make_client: ClientFactory) -> None:
    scenario = parse_scenario(
        "name: observed-open\nprofile: observed\nauth: {enabled: false}\n"
    )
    client = await make_client(**scenario_settings(scenario), credentials=False)

    body = await state_of(client)

    assert body.startswith(
        "<contextServiceRegistration><refURL>"
        "/unifiedconfig/config/contextserviceregistration</refURL>"
    )
    assert "<permissionInfo>" in body

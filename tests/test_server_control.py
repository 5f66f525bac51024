"""The control API over HTTP: health, state, reset, token, errors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

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
from mockserver.contracts import Contracts, ContractsLoader
from mockserver.settings import Settings

TOKEN = "s3cret-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def test_live_answers_200(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.get("/_mock/health/live")

    assert response.status == 200
    assert await response.json() == {"status": "live"}


async def test_ready_after_contracts_compile(make_client: ClientFactory) -> None:
    client = await make_client()
    await session_of_client(client).contracts.get()

    response = await client.get("/_mock/health/ready")

    assert response.status == 200
    assert await response.json() == {
        "status": "ready",
        "checks": {"contracts compiled": True, "device sync started": True},
        "failing": [],
    }


async def test_ready_is_503_before_contracts_compile(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    session_of_client(client).contracts = ContractsLoader()

    response = await client.get("/_mock/health/ready")

    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    body = await response.json()
    assert body["status"] == "not ready"
    assert body["failing"] == ["contracts compiled"]


async def test_ready_names_each_failing_check(make_client: ClientFactory) -> None:
    client = await make_client()
    session = session_of_client(client)
    await session.contracts.get()
    session.readiness_checks["devices listening"] = lambda: False

    response = await client.get("/_mock/health/ready")

    assert response.status == 503
    body = await response.json()
    assert body["failing"] == ["devices listening"]
    assert body["checks"] == {
        "contracts compiled": True,
        "device sync started": True,
        "devices listening": False,
    }


async def test_ready_treats_raising_check_as_failing(
    make_client: ClientFactory,
) -> None:
    def broken() -> bool:
        raise RuntimeError("simulated bug in a readiness check")

    client = await make_client()
    session = session_of_client(client)
    await session.contracts.get()
    session.readiness_checks["broken"] = broken

    response = await client.get("/_mock/health/ready")

    assert response.status == 503
    assert (await response.json())["failing"] == ["broken"]


@pytest.mark.parametrize("path", ["/_mock/health/live", "/_mock/health/ready"])
async def test_health_needs_no_token(make_client: ClientFactory, path: str) -> None:
    client = await make_client(credentials=False, control_token=TOKEN)
    await session_of_client(client).contracts.get()

    response = await client.get(path)

    assert response.status == 200


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, 'Bearer realm="mockserver control API"'),
        (
            {"Authorization": "Bearer wrong"},
            'Bearer realm="mockserver control API", error="invalid_token"',
        ),
        (
            {"Authorization": f"Basic {TOKEN}"},
            'Bearer realm="mockserver control API", error="invalid_token"',
        ),
        (
            {"Authorization": f"Bearer {TOKEN}x"},
            'Bearer realm="mockserver control API", error="invalid_token"',
        ),
    ],
    ids=["missing", "wrong", "basic-scheme", "longer"],
)
async def test_token_rejects_request_without_it(
    make_client: ClientFactory, headers: dict[str, str], challenge: str
) -> None:
    client = await make_client(credentials=False, control_token=TOKEN)

    response = await client.get("/_mock/state", headers=headers)

    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == challenge
    body = await response.json()
    assert "Authorization: Bearer TOKEN" in body["error"]["message"]


@pytest.mark.parametrize(
    "header", [f"Bearer {TOKEN}", f"bearer {TOKEN}"], ids=["Bearer", "lower-case"]
)
async def test_token_accepts_request_with_it(
    make_client: ClientFactory, header: str
) -> None:
    client = await make_client(credentials=False, control_token=TOKEN)

    response = await client.get("/_mock/state", headers={"Authorization": header})

    assert response.status == 200


async def test_unknown_control_path_needs_token(make_client: ClientFactory) -> None:
    client = await make_client(credentials=False, control_token=TOKEN)

    response = await client.get("/_mock/nothing-here")

    assert response.status == 401


async def test_control_api_ignores_basic_auth(make_client: ClientFactory) -> None:
    client = await make_client(credentials=False)

    response = await client.get("/_mock/state")

    assert response.status == 200


async def test_state_starts_not_registered(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.get("/_mock/state")

    assert response.status == 200
    body = await response.json()
    assert body["state"] == "notRegistered"
    assert body["connectionData"] == ""
    assert body["busy"] is False


async def test_put_state_registers(make_client: ClientFactory) -> None:
    client = await make_client(accept_any_connection_data=True)

    response = await client.put("/_mock/state", json={"connectionData": "abc"})
    registration = await client.get(REGISTRATION_PATH)

    assert response.status == 200
    body = await response.json()
    assert body["state"] == "registered"
    assert body["connectionData"] == "abc"
    assert "<state>registered</state>" in await registration.text()


@pytest.mark.parametrize(
    "document",
    [{"state": "notRegistered"}, {"connectionData": ""}],
    ids=["state", "empty-connection-data"],
)
async def test_put_state_deregisters(
    make_client: ClientFactory, document: dict[str, str]
) -> None:
    client = await make_client()
    await client.put("/_mock/state", json={"connectionData": "abc"})

    response = await client.put("/_mock/state", json=document)

    assert response.status == 200
    assert (await response.json())["state"] == "notRegistered"


async def test_put_state_bypasses_deregister_first(make_client: ClientFactory) -> None:
    client = await make_client()
    await client.put("/_mock/state", json={"connectionData": "first"})

    response = await client.put("/_mock/state", json={"connectionData": "second"})

    assert response.status == 200
    assert (await response.json())["connectionData"] == "second"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"{not json", "body", "body: expected a JSON object"),
        (b"[1, 2]", "body", "body: expected a JSON object, found [1, 2]"),
        (b"\xff\xfe", "body", "body: expected UTF-8 text"),
        (b"{}", "body", "body: expected a JSON object with"),
        (b'{"state": "registered"}', "state", "To register, set connectionData"),
        (b'{"connectionData": 5}', "connectionData", "expected a string, found 5"),
        (
            b'{"connectionData": "' + b"x" * 4097 + b'"}',
            "connectionData",
            "expected at most 4096 bytes in UTF-8",
        ),
        (
            b'{"connectionData": "a\\u0001b"}',
            "connectionData",
            "expected only characters that XML 1.0 allows",
        ),
        (
            b'{"state": "notRegistered", "connectionData": "abc"}',
            "connectionData",
            "expected an empty string or no connectionData",
        ),
        (b'{"conectionData": "abc"}', "conectionData", "expected a known field"),
    ],
    ids=[
        "malformed",
        "array",
        "invalid-utf8",
        "empty-object",
        "registered-state",
        "number",
        "too-long",
        "control-character",
        "conflicting",
        "misspelt-field",
    ],
)
async def test_put_state_rejects_invalid_body(
    make_client: ClientFactory, body: bytes, field: str, message: str
) -> None:
    client = await make_client()

    response = await client.put("/_mock/state", data=body)
    state = await client.get("/_mock/state")

    assert response.status == 400
    error = (await response.json())["error"]
    assert error["field"] == field
    assert message in error["message"]
    assert (await state.json())["state"] == "notRegistered"


async def test_reset_restores_initial_state(make_client: ClientFactory) -> None:
    client = await make_client(accept_any_connection_data=True)
    session = session_of_client(client)
    session.initial_connection_data = "initial"
    await client.put(REGISTRATION_PATH, data=update_body(""), headers=XML)

    response = await client.post("/_mock/reset")

    assert response.status == 200
    body = await response.json()
    assert body["state"] == "registered"
    assert body["connectionData"] == "initial"
    assert len(session.journal) == 0


async def test_reset_runs_reset_callbacks(make_client: ClientFactory) -> None:
    calls: list[str] = []

    async def reset_devices() -> None:
        calls.append("devices")

    client = await make_client()
    session = session_of_client(client)
    session.reset_callbacks.append(lambda: calls.append("counters"))
    session.reset_callbacks.append(reset_devices)

    response = await client.post("/_mock/reset")

    assert response.status == 200
    assert calls == ["counters", "devices"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/_mock/state", "GET, HEAD, PUT"),
        ("GET", "/_mock/reset", "POST"),
        ("PUT", "/_mock/journal", "DELETE, GET, HEAD"),
        ("GET", "/_mock/verify", "POST"),
    ],
)
async def test_wrong_method_gets_405_with_allow(
    make_client: ClientFactory, method: str, path: str, allowed: str
) -> None:
    client = await make_client()

    response = await client.request(method, path)

    assert response.status == 405
    assert response.headers["Allow"] == allowed
    body: dict[str, Any] = await response.json()
    assert f"allowed: {allowed}" in body["error"]["message"]


async def test_unknown_control_path_gets_404(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.get("/_mock/nothing-here")

    assert response.status == 404
    body = await response.json()
    assert "/_mock/openapi.json lists them" in body["error"]["message"]


async def test_head_on_state_has_no_body(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.head("/_mock/state")

    assert response.status == 200
    assert await response.read() == b""


async def test_later_control_route_wins_over_catch_all(
    unused_tcp_port_factory: Callable[[], int],
) -> None:
    async def extra(request: web.Request) -> web.Response:
        return web.json_response({"extra": []})

    port = unused_tcp_port_factory()
    app = build_app(Settings(host="127.0.0.1", port=port))
    app.router.add_get("/_mock/extra", extra)
    client = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await client.start_server()
    try:
        response = await client.get("/_mock/extra")
        body = await response.json()
    finally:
        await client.close()

    assert response.status == 200
    assert body == {"extra": []}


async def test_ready_answers_while_contracts_compile(
    make_client: ClientFactory,
) -> None:
    release = threading.Event()

    def slow_contracts() -> Contracts:
        release.wait(timeout=10)
        return Contracts()

    client = await make_client()
    session = session_of_client(client)
    session.contracts = ContractsLoader(slow_contracts)
    session.contracts.start()

    during = await client.get("/_mock/health/ready")
    live = await client.get("/_mock/health/live")
    release.set()
    await session.contracts.get()
    after = await client.get("/_mock/health/ready")

    assert during.status == 503
    assert live.status == 200
    assert after.status == 200

"""Shared fixtures: a real mockserver on a loopback port, checked against its contracts.

Every XML body any test's server emits is validated against the XSDs in schemas/, and
a test fails at teardown when one breaks its contract.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import encode_basic_auth, web
from aiohttp.test_utils import TestClient, TestServer

from mockserver.app import build_app
from mockserver.contracts import Contracts, ContractsLoader
from mockserver.recorder import runner_options
from mockserver.scenario import FIRED_FAULT
from mockserver.session import SESSION, Session
from mockserver.settings import DEFAULT_PASSWORD, DEFAULT_USER, Settings

REGISTRATION_PATH = "/unifiedconfig/config/contextserviceregistration"
CONFIG_PATH = "/unifiedconfig/config/contextservice"
ADMIN = {"Authorization": encode_basic_auth(DEFAULT_USER, DEFAULT_PASSWORD)}
XML = {"Content-Type": "application/xml"}

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    """Return the compiled contracts, shared by every test."""
    return Contracts()


def session_of_client(client: TestClient[web.Request, web.Application]) -> Session:
    """Return the session of the server behind ``client``."""
    return client.app[SESSION]


DEVICES_PATH = "/_mock/devices"
# Polls of 10 ms each before a wait for a sync gives up: about 4 s.
SYNC_POLLS = 400


async def devices_by_name(
    client: TestClient[web.Request, web.Application],
) -> dict[str, dict[str, Any]]:
    """Return /_mock/devices as a mapping from device name to its state."""
    response = await client.get(DEVICES_PATH)
    assert response.status == 200
    document = await response.json()
    return {device["name"]: device for device in document["devices"]}


async def wait_until_syncing(client: TestClient[web.Request, web.Application]) -> None:
    """Poll /_mock/devices until a sync runs, and fail after SYNC_POLLS polls."""
    for _ in range(SYNC_POLLS):
        response = await client.get(DEVICES_PATH)
        if (await response.json())["syncing"]:
            return
        await asyncio.sleep(0.01)
    pytest.fail("the sync never started")


def update_body(connection_data: str) -> str:
    """Return the reference's minimal update body for ``connection_data``."""
    return (
        "<contextServiceRegistration>"
        f"<connectionData>{connection_data}</connectionData>"
        "</contextServiceRegistration>"
    )


class _ServerAsDeployed(TestServer):
    """A TestServer that keeps running a handler whose client has gone.

    ``mockserver serve`` keeps aiohttp's default for this, but aiohttp's TestServer
    cancels such a handler.
    """

    async def _make_runner(self, **kwargs: Any) -> web.BaseRunner:
        kwargs["handler_cancellation"] = False
        kwargs.update(runner_options())
        return await super()._make_runner(**kwargs)


@pytest.fixture
async def make_client(
    unused_tcp_port_factory: Callable[[], int], contracts: Contracts
) -> AsyncIterator[ClientFactory]:
    """Start mockservers on free loopback ports and hand out clients with auth.

    Keyword arguments override Settings fields. The client sends the default user's
    credentials on every request unless the factory gets ``credentials=False``.
    """
    clients: list[TestClient[web.Request, web.Application]] = []
    violations: list[str] = []

    async def check_contract(
        request: web.Request, response: web.StreamResponse
    ) -> None:
        if not isinstance(response, web.Response) or response.body is None:
            return
        # Empty and malformed fault responses break the contract on purpose.
        fired = request.get(FIRED_FAULT)
        if fired is not None and fired.action.response in ("empty", "malformed"):
            return
        if response.content_type not in ("application/xml", "text/xml"):
            return
        assert isinstance(response.body, bytes)
        text = response.body.decode("utf-8")
        for problem in contracts.validate_response(text):
            violations.append(f"{request.method} {request.path_qs}: {problem}")

    async def factory(
        *, credentials: bool = True, **overrides: Any
    ) -> TestClient[web.Request, web.Application]:
        port = unused_tcp_port_factory()
        settings = dataclasses.replace(
            Settings(host="127.0.0.1", port=port), **overrides
        )
        app = build_app(settings)
        # Compiling the XSDs takes a while; every server shares one compiled set.
        app[SESSION].contracts = ContractsLoader(lambda: contracts)
        app.on_response_prepare.append(check_contract)
        server = _ServerAsDeployed(app, host="127.0.0.1", port=port)
        client = TestClient(server, headers=ADMIN if credentials else None)
        await client.start_server()
        clients.append(client)
        return client

    yield factory

    for client in clients:
        await client.close()
    assert violations == [], "the server emitted bodies that break their XSD"

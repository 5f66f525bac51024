"""The sync to the devices and every response of the update API, over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any
from xml.sax.saxutils import escape

import pytest
from aiohttp import ClientError, ClientResponse, ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from conftest import (
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    devices_by_name,
    session_of_client,
    update_body,
    wait_until_syncing,
)

from mockserver.deviceconfig import DeviceAction, DeviceConfig, DeviceFault
from mockserver.devicestore import DeviceBehaviour

Client = TestClient[web.Request, web.Application]
ServerFactory = Callable[..., Awaitable[TestServer]]

DEVICES_PATH = "/_mock/devices"
JSON = {"Accept": "application/json"}
NAMES = ("cvp-1", "finesse-1", "socialminer-1")
# Upper bound for polling loops: 400 polls of 10 ms.
POLLS = 400


def fault(device: str, **fields: Any) -> tuple[DeviceFault, ...]:
    """Return the settings value for one device fault."""
    return (DeviceFault(device, DeviceAction(**fields)),)


async def put(client: Client, value: str, **headers: str) -> ClientResponse:
    """Send an update of connectionData to ``value``."""
    return await client.put(
        REGISTRATION_PATH, data=update_body(escape(value)), headers={**XML, **headers}
    )


async def device_value(client: Client, name: str) -> str:
    """Return the connectionData the simulated device ``name`` holds, via its GET."""
    response = await client.get(f"/_devices/{name}/contextservice")
    assert response.status == 200
    text = await response.text()
    return text.partition("<connectionData>")[2].partition("</connectionData>")[0]


class RecordingBehaviour:
    """Device behaviour that records which devices got an update, then delegates."""

    def __init__(self, inner: DeviceBehaviour) -> None:
        self.inner = inner
        self.calls: list[str] = []
        self._called = asyncio.Event()

    async def on_update(
        self, device: DeviceConfig, connection_data: str
    ) -> DeviceAction:
        self.calls.append(device.name)
        self._called.set()
        return await self.inner.on_update(device, connection_data)

    async def wait_for_calls(self, count: int) -> None:
        """Wait until devices got ``count`` updates in all; fail after 5 s."""
        async with asyncio.timeout(5):
            while len(self.calls) < count:
                self._called.clear()
                await self._called.wait()


def record_calls(client: Client) -> RecordingBehaviour:
    """Wrap the device behaviour of ``client``'s server in a RecordingBehaviour."""
    devices = session_of_client(client).devices
    recorder = RecordingBehaviour(devices.behaviour)
    devices.behaviour = recorder
    return recorder


class FailFirstUpdate:
    """Device behaviour: ``device`` responds to its first update with 500, then 200."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.calls = 0

    async def on_update(
        self, device: DeviceConfig, connection_data: str
    ) -> DeviceAction:
        if device.name != self.device:
            return DeviceAction()
        self.calls += 1
        return DeviceAction(status=500 if self.calls == 1 else 200)


async def test_update_syncs_every_device(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await put(client, "abc")
    devices = await devices_by_name(client)

    assert response.status == 200
    assert await response.text() == "Successfully saved"
    assert [await device_value(client, name) for name in NAMES] == ["abc"] * 3
    assert list(devices) == list(NAMES)
    for name in NAMES:
        assert devices[name]["connectionData"] == "abc"
        assert devices[name]["version"] == 1
        assert devices[name]["syncCount"] == 1
        assert devices[name]["lastError"] is None
        assert devices[name]["lastSyncAt"] is not None
        assert devices[name]["inSync"] is True


async def test_deregister_syncs_empty_value(make_client: ClientFactory) -> None:
    client = await make_client()
    await put(client, "abc")

    response = await put(client, "")

    assert response.status == 200
    assert [await device_value(client, name) for name in NAMES] == [""] * 3


async def test_failed_device_gives_partial_success(make_client: ClientFactory) -> None:
    client = await make_client(
        device_faults=fault("finesse-1", status=503), accept_any_connection_data=True
    )

    response = await put(client, "abc")
    body = await response.text()
    registration = await client.get(REGISTRATION_PATH)
    devices = await devices_by_name(client)

    assert response.status == 201
    assert body == (
        "<apiErrors><apiError><errorData>finesse-1</errorData>"
        "<errorMessage>Configuration update failed for one or more devices. "
        "Device finesse-1: device answered HTTP 503 Service Unavailable."
        "</errorMessage><errorType>PARTIAL_SUCCESS</errorType></apiError></apiErrors>"
    )
    assert "<state>registered</state>" in await registration.text()
    assert session_of_client(client).store.current.connection_data == "abc"
    assert devices["finesse-1"]["connectionData"] == ""
    assert devices["finesse-1"]["inSync"] is False
    assert devices["finesse-1"]["lastError"] == (
        "device answered HTTP 503 Service Unavailable"
    )
    assert devices["cvp-1"]["connectionData"] == "abc"
    assert devices["socialminer-1"]["connectionData"] == "abc"


async def test_partial_success_lists_each_device(make_client: ClientFactory) -> None:
    faults = (
        DeviceFault("cvp-1", DeviceAction(status=500)),
        DeviceFault("finesse-1", DeviceAction(status=404)),
    )
    client = await make_client(device_faults=faults)

    response = await put(client, "abc", **JSON)
    document = await response.json()

    assert response.status == 201
    errors = document["apiErrors"]["apiError"]
    assert [error["errorData"] for error in errors] == ["cvp-1", "finesse-1"]
    assert {error["errorType"] for error in errors} == {"PARTIAL_SUCCESS"}
    assert "HTTP 500" in errors[0]["errorMessage"]
    assert "HTTP 404" in errors[1]["errorMessage"]


async def test_repeat_update_syncs_devices_behind(make_client: ClientFactory) -> None:
    client = await make_client()
    behaviour = FailFirstUpdate("finesse-1")
    session_of_client(client).devices.behaviour = behaviour
    first = await put(client, "abc")

    second = await put(client, "abc")
    devices = await devices_by_name(client)

    assert first.status == 201
    assert second.status == 200
    assert behaviour.calls == 2
    assert await device_value(client, "finesse-1") == "abc"
    assert devices["finesse-1"]["syncCount"] == 2
    assert devices["finesse-1"]["lastError"] is None
    assert devices["cvp-1"]["syncCount"] == 1
    assert devices["socialminer-1"]["syncCount"] == 1


async def test_repeat_update_still_failing_gives_201(
    make_client: ClientFactory,
) -> None:
    client = await make_client(device_faults=fault("cvp-1", status=500))
    await put(client, "abc")

    response = await put(client, "abc")
    devices = await devices_by_name(client)

    assert response.status == 201
    assert devices["cvp-1"]["syncCount"] == 2
    assert devices["finesse-1"]["syncCount"] == 1


async def test_database_failure_contacts_no_device(make_client: ClientFactory) -> None:
    client = await make_client(fail_database_writes=True)

    response = await put(client, "abc")
    body = await response.text()
    devices = await devices_by_name(client)

    assert response.status == 500
    assert "<errorType>DATABASE_ERROR</errorType>" in body
    assert session_of_client(client).store.current.connection_data == ""
    for name in NAMES:
        assert devices[name]["syncCount"] == 0
        assert devices[name]["connectionData"] == ""


async def test_timeout_gives_partial_success(make_client: ClientFactory) -> None:
    devices = (DeviceConfig("finesse-1", "finesse", timeout=0.2),)
    client = await make_client(
        devices=devices, device_faults=fault("finesse-1", delay=0.6)
    )

    response = await put(client, "abc")
    body = await response.text()
    state = (await devices_by_name(client))["finesse-1"]

    assert response.status == 201
    assert "Device finesse-1: timed out after 0.2 s." in body
    assert state["lastError"] == "timed out after 0.2 s"
    assert state["connectionData"] == ""


async def test_timed_out_device_stores_value_later(
    make_client: ClientFactory,
) -> None:
    devices = (DeviceConfig("finesse-1", "finesse", timeout=0.2),)
    client = await make_client(
        devices=devices, device_faults=fault("finesse-1", delay=0.4)
    )
    first = await put(client, "abc")
    for _ in range(POLLS):
        if await device_value(client, "finesse-1") == "abc":
            break
        await asyncio.sleep(0.01)

    repeat = await put(client, "abc")
    state = (await devices_by_name(client))["finesse-1"]

    assert first.status == 201
    assert repeat.status == 200
    assert state["connectionData"] == "abc"
    assert state["syncCount"] == 1, "a device that holds the value gets no request"


async def test_reset_gives_partial_success(make_client: ClientFactory) -> None:
    client = await make_client(device_faults=fault("cvp-1", reset=True))
    recorder = record_calls(client)

    response = await put(client, "abc")
    body = await response.text()
    devices = await devices_by_name(client)

    assert response.status == 201
    assert "Device cvp-1: connection reset" in body
    assert devices["cvp-1"]["lastError"].startswith("connection reset")
    assert devices["cvp-1"]["connectionData"] == ""
    assert sorted(recorder.calls) == sorted(NAMES), "one request per device"


async def test_refused_connection_gives_partial_success(
    make_client: ClientFactory, unused_tcp_port_factory: Callable[[], int]
) -> None:
    port = unused_tcp_port_factory()
    devices = (
        DeviceConfig("cvp-1", "cvp"),
        DeviceConfig("cvp-2", "cvp", url=f"http://127.0.0.1:{port}"),
    )
    client = await make_client(devices=devices)

    response = await put(client, "abc")
    body = await response.text()
    state = await devices_by_name(client)

    assert response.status == 201
    assert f"Device cvp-2: connection refused by 127.0.0.1:{port}." in body
    assert "cvp-1" not in body
    assert state["cvp-2"]["external"] is True
    assert state["cvp-2"]["lastError"] == f"connection refused by 127.0.0.1:{port}"
    assert state["cvp-1"]["connectionData"] == "abc"


async def test_external_device_receives_update(
    make_client: ClientFactory, aiohttp_server: ServerFactory
) -> None:
    received: list[tuple[str, str, str]] = []

    async def device_endpoint(request: web.Request) -> web.Response:
        received.append((request.path, request.content_type, await request.text()))
        return web.Response(text="stored")

    external = web.Application()
    external.router.add_put("/_devices/{name}/contextservice", device_endpoint)
    server = await aiohttp_server(external, host="127.0.0.1")
    url = str(server.make_url("/"))
    devices = (
        DeviceConfig("finesse-2", "finesse", url=url),
        DeviceConfig("cvp-1", "cvp"),
    )
    client = await make_client(devices=devices)

    response = await put(client, "a&b")
    state = await devices_by_name(client)
    local = await client.get("/_devices/finesse-2/contextservice")

    assert response.status == 200
    assert received == [
        (
            "/_devices/finesse-2/contextservice",
            "application/xml",
            "<deviceContextService><connectionData>a&amp;b</connectionData>"
            "</deviceContextService>",
        )
    ]
    assert state["finesse-2"]["connectionData"] == "a&b"
    assert state["finesse-2"]["version"] == 1
    assert state["finesse-2"]["url"] == url.rstrip("/") + (
        "/_devices/finesse-2/contextservice"
    )
    assert local.status == 404, "an external device is not simulated here"


async def test_slow_device_keeps_reads_fast(make_client: ClientFactory) -> None:
    client = await make_client(
        device_faults=fault("finesse-1", delay=2.0), accept_any_connection_data=True
    )
    first = asyncio.create_task(put(client, "abc"))
    await wait_until_syncing(client)

    started = time.monotonic()
    registration = await client.get(REGISTRATION_PATH)
    devices = await devices_by_name(client)
    elapsed = time.monotonic() - started
    second = await put(client, "abc")
    second_body = await second.text()
    first_response = await first

    assert elapsed < 1.0, "reads must not wait for the sync"
    assert registration.status == 200
    assert "<state>registered</state>" in await registration.text()
    assert devices["finesse-1"]["connectionData"] == ""
    assert second.status == 503
    assert second.headers["Retry-After"] == "1"
    assert "<errorType>SERVER_BUSY</errorType>" in second_body
    assert first_response.status == 200
    assert await device_value(client, "finesse-1") == "abc"


async def test_concurrent_updates_have_one_winner(make_client: ClientFactory) -> None:
    client = await make_client(device_faults=fault("cvp-1", delay=0.001))
    store = session_of_client(client).store
    start_version = store.current.version
    rounds = 50

    for round_number in range(rounds):
        values = [f"round{round_number}-value{index}" for index in range(20)]
        responses = await asyncio.gather(*(put(client, value) for value in values))
        statuses = [response.status for response in responses]
        winners = [
            value
            for value, status in zip(values, statuses, strict=True)
            if 200 <= status < 300
        ]
        assert len(winners) == 1, f"round {round_number}: statuses {statuses}"
        assert set(statuses) <= {200, 400, 503}, f"round {round_number}: {statuses}"
        for response in responses:
            if response.status == 400:
                assert "invalidInput.deregisterFirst" in await response.text()
        assert store.current.connection_data == winners[0]
        for name in NAMES:
            assert await device_value(client, name) == winners[0]

        deregistered = await put(client, "")
        assert deregistered.status == 200

    assert store.current.version == start_version + 2 * rounds


async def test_cancelled_sync_leaves_store_usable(make_client: ClientFactory) -> None:
    client = await make_client(device_faults=fault("finesse-1", delay=1.0))
    store = session_of_client(client).store
    update = asyncio.create_task(store.update("abc"))
    await wait_until_syncing(client)

    update.cancel()
    with pytest.raises(asyncio.CancelledError):
        await update
    session_of_client(client).devices.behaviour = FailFirstUpdate("none")
    repeat = await put(client, "abc")

    assert store.is_busy is False
    assert repeat.status == 200
    assert await device_value(client, "finesse-1") == "abc"


async def test_shutdown_lets_running_sync_finish(make_client: ClientFactory) -> None:
    client = await make_client(device_faults=fault("socialminer-1", delay=0.5))
    session = session_of_client(client)
    recorder = record_calls(client)
    update = asyncio.create_task(put(client, "abc"))
    await recorder.wait_for_calls(3)

    await client.server.close()
    response = await update

    assert response.status == 200
    assert session.devices.get("socialminer-1") is not None
    assert session.device_sync.is_open is False
    assert session.store.is_busy is False


@pytest.mark.parametrize(
    ("path", "body", "status", "error_type"),
    [
        ("/_devices/nobody/contextservice", "", 404, "notFound.device"),
        (
            "/_devices/cvp-1/contextservice",
            "<deviceContextService/>",
            400,
            "invalidInput.schemaViolation",
        ),
        (
            "/_devices/cvp-1/contextservice",
            "<deviceContextService><connectionData>x</connectionData>"
            "<extra/></deviceContextService>",
            400,
            "invalidInput.schemaViolation",
        ),
        ("/_devices/cvp-1/contextservice", "<a>", 400, "invalidInput.malformedBody"),
    ],
    ids=["unknown-device", "missing-field", "unknown-element", "malformed"],
)
async def test_device_endpoint_rejects_bad_update(
    make_client: ClientFactory, path: str, body: str, status: int, error_type: str
) -> None:
    client = await make_client()

    response = await client.put(path, data=body, headers=XML)

    assert response.status == status
    assert f"<errorType>{error_type}</errorType>" in await response.text()
    assert await device_value(client, "cvp-1") == ""


async def test_device_endpoint_stores_direct_update(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    body = (
        "<deviceContextService><connectionData>x</connectionData>"
        "</deviceContextService>"
    )

    response = await client.put(
        "/_devices/cvp-1/contextservice", data=body, headers=XML
    )
    stored = await client.get("/_devices/cvp-1/contextservice")

    assert response.status == 200
    assert await stored.text() == (
        "<deviceContextService><name>cvp-1</name><type>cvp</type>"
        "<connectionData>x</connectionData><version>1</version>"
        "</deviceContextService>"
    )


def pending_tasks() -> list[asyncio.Task[Any]]:
    """Return the tasks of the running loop other than the current one."""
    current = asyncio.current_task()
    return [task for task in asyncio.all_tasks() if task is not current]


async def test_shutdown_cancels_abandoned_sync(make_client: ClientFactory) -> None:
    devices = (
        DeviceConfig("cvp-1", "cvp", timeout=0.5),
        DeviceConfig("finesse-1", "finesse"),
    )
    client = await make_client(devices=devices, device_faults=fault("cvp-1", delay=30))
    session = session_of_client(client)
    recorder = record_calls(client)
    abandoned = asyncio.create_task(put(client, "abc"))
    await recorder.wait_for_calls(2)
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned

    # aiohttp would wait up to 60 s for the device that delays 30 s.
    await asyncio.wait_for(client.server.close(), timeout=10)

    assert pending_tasks() == []
    assert session.store.is_busy is False
    assert session.device_sync.is_open is False
    assert session.store.current.connection_data == "abc"
    assert [state.connection_data for state in session.devices.states] == ["", "abc"]
    assert [state.last_error for state in session.devices.states] == [
        "timed out after 0.5 s",
        None,
    ]


async def wait_until_in_sync(http: ClientSession, base: str, names: list[str]) -> None:
    """Poll a server's /_mock/devices until the devices ``names`` are in sync while
    a sync still runs; fail after POLLS polls."""
    for _ in range(POLLS):
        async with http.get(base + DEVICES_PATH) as response:
            document = await response.json()
        in_sync = [device["name"] for device in document["devices"] if device["inSync"]]
        if document["syncing"] and in_sync == names:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"devices {names} never got in sync during a sync")


async def wait_until_listening(http: ClientSession, base: str) -> None:
    """Poll a server until it responds; fail after POLLS polls."""
    for _ in range(POLLS):
        try:
            async with http.get(base + DEVICES_PATH) as response:
                if response.status == 200:
                    return
        except ClientError:
            pass
        await asyncio.sleep(0.025)
    pytest.fail(f"the server at {base} never answered")


async def test_sigterm_lets_running_sync_finish(
    unused_tcp_port_factory: Callable[[], int],
) -> None:
    port = unused_tcp_port_factory()
    base = f"http://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mockserver",
        "serve",
        f"--port={port}",
        "--no-auth",
        "--device-delay=finesse-1:0.5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "always"},
    )
    try:
        async with ClientSession() as http:
            await wait_until_listening(http, base)
            update = asyncio.create_task(
                http.put(base + REGISTRATION_PATH, data=update_body("abc"), headers=XML)
            )
            await wait_until_in_sync(http, base, ["cvp-1", "socialminer-1"])
            process.send_signal(signal.SIGTERM)
            response = await update
            status = response.status
            response.release()
        _, stderr_bytes = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = stderr_bytes.decode()

    assert status == 200
    assert process.returncode == 0
    assert "Sync to 3 of 3 devices: 3 synced, 0 failed" in stderr
    assert "Stopped" in stderr
    assert "Traceback" not in stderr
    assert "Warning" not in stderr
    assert "Unclosed" not in stderr
    assert "Task was destroyed" not in stderr


async def test_sync_reaches_devices_on_any_free_port() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mockserver",
        "serve",
        "--port=0",
        "--no-auth",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(20):
            line = ""
            while "listening on" not in line:
                line = (await process.stderr.readline()).decode()
                assert line, "the server exited before it listened"
        base = line.split("listening on ", 1)[1].split(";", 1)[0]
        async with ClientSession() as http:
            async with http.put(
                base + REGISTRATION_PATH, data=update_body("abc"), headers=XML
            ) as response:
                status = response.status
            async with http.get(base + DEVICES_PATH) as response:
                devices = (await response.json())["devices"]
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert not base.endswith(":0")
    assert status == 200
    assert [device["url"] for device in devices] == [
        f"{base}/_devices/{name}/contextservice" for name in NAMES
    ]
    assert [device["connectionData"] for device in devices] == ["abc"] * 3
    assert process.returncode == 0

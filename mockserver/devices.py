"""The device role: CVP, Finesse and SocialMiner simulators and their HTTP endpoints.

``GET /_devices/{name}/contextservice`` returns what a simulated device stores and
``PUT`` delivers an update to it, as the sync does. ``GET /_mock/devices`` returns
every device's state as JSON. The behaviour on the device store decides how a device
responds; the settings' ``--device-*`` flags configure the default one.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from .admin import control_resource
from .apierrors import ApiError, render_api_errors
from .contracts import BodyRejected, decode_body, parse_xml
from .devicestore import DeviceState
from .devicesync import DEVICE_PATH
from .scenario import inject_fault
from .session import SESSION, Session, session_of

__all__ = ["DEVICES_STATE_PATH", "add_device_routes", "render_device_state"]

log = logging.getLogger("mockserver.devices")

DEVICES_STATE_PATH = "/_mock/devices"

_XML_TYPE = "application/xml"


def render_device_state(state: DeviceState) -> str:
    """Render the stored state of a device as a deviceContextService document."""
    return (
        "<deviceContextService>"
        f"<name>{escape(state.name)}</name>"
        f"<type>{state.config.type}</type>"
        f"<connectionData>{escape(state.connection_data)}</connectionData>"
        f"<version>{state.version}</version>"
        "</deviceContextService>"
    )


def _errors_response(status: int, errors: list[ApiError]) -> web.Response:
    return web.Response(
        status=status,
        text=render_api_errors(errors),
        content_type=_XML_TYPE,
        charset="utf-8",
    )


def _simulated_device(session: Session, name: str) -> DeviceState | None:
    state = session.devices.get(name)
    if state is None or state.config.is_external:
        return None
    return state


def _not_found(session: Session, name: str) -> web.Response:
    known = [
        state.name for state in session.devices.states if not state.config.is_external
    ]
    error = ApiError.of(
        "device_not_found", data=name, name=name, known=", ".join(known) or "(none)"
    )
    return _errors_response(404, [error])


async def _get_device(request: web.Request) -> web.Response:
    session = session_of(request)
    name = request.match_info["name"]
    state = _simulated_device(session, name)
    if state is None:
        return _not_found(session, name)
    return web.Response(
        text=render_device_state(state), content_type=_XML_TYPE, charset="utf-8"
    )


async def _put_device(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    name = request.match_info["name"]
    state = _simulated_device(session, name)
    if state is None:
        return _not_found(session, name)
    try:
        value = await _read_device_update(request, session)
    except BodyRejected as exc:
        reasons = "; ".join(error.error_message for error in exc.errors)
        log.warning("Device %s rejected an update body: %s", name, reasons)
        return _errors_response(exc.status, exc.errors)

    # Scenario rules for this device come first; the request body was read above.
    fault = await inject_fault(
        session, f"device:{name}", request, body=await request.read()
    )
    if fault is not None:
        return fault

    action = await session.devices.behaviour.on_update(state.config, value)
    if action.delay:
        await session.devices.delay(action.delay)
    if action.reset:
        log.info("Device %s resets the connection, as its behaviour sets", name)
        _reset_connection(request)
        # aiohttp drops this response quietly because the transport is closed.
        return web.Response(status=204)
    if not action.is_accepted:
        log.info(
            "Device %s responds with %d, as its behaviour sets", name, action.status
        )
        if action.status == 304:
            # A 304 response must not have a body (RFC 9110 section 15.4.5).
            return web.Response(status=304)
        error = ApiError.of("device_update_failed", data=name, name=name)
        return _errors_response(action.status, [error])

    stored = session.devices.accept(name, value)
    return web.Response(
        text=render_device_state(stored), content_type=_XML_TYPE, charset="utf-8"
    )


async def _read_device_update(request: web.Request, session: Session) -> str:
    """Parse a deviceContextService body and check it against its XSD."""
    if request.content_type not in ("application/xml", "text/xml"):
        shown = request.headers.get("Content-Type", "(none)")
        raise BodyRejected(
            415, [ApiError.of("unsupported_media_type", content_type=repr(shown))]
        )
    text = decode_body(await request.read(), request.charset)
    root = parse_xml(text)
    contracts = await session.contracts.get()
    problems = contracts.validate_response(text)
    if root.tag != "deviceContextService" or problems:
        reason = "; ".join(problems) or (
            f"expected root element deviceContextService, found {root.tag!r}"
        )
        error = ApiError.of("schema_violation", data=root.tag, path="/", reason=reason)
        raise BodyRejected(400, [error])
    return root.findtext("connectionData", default="")


def _reset_connection(request: web.Request) -> None:
    """Close the connection with a TCP RST instead of an orderly FIN."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # A zero linger time makes close() send RST.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _get_devices_state(request: web.Request, session: Session) -> web.Response:
    # The loop has no await, so every device comes from the same moment.
    stored = session.store.current.connection_data
    document = {
        "syncing": session.store.is_busy,
        "devices": [
            _state_json(session, state, stored) for state in session.devices.states
        ],
    }
    return web.json_response(document, dumps=json.dumps)


def _state_json(session: Session, state: DeviceState, stored: str) -> dict[str, Any]:
    config = state.config
    last_sync = state.last_sync_at
    return {
        "name": config.name,
        "type": config.type,
        "external": config.is_external,
        "url": session.device_sync.url_of(config),
        "timeout": config.timeout,
        "connectionData": state.connection_data,
        "version": state.version,
        "inSync": state.connection_data == stored,
        "syncCount": state.sync_count,
        "lastSyncAt": (
            None
            if last_sync is None
            else datetime.fromtimestamp(last_sync, UTC).isoformat(
                timespec="milliseconds"
            )
        ),
        "lastError": state.last_error,
    }


async def _start_sync(app: web.Application) -> None:
    await app[SESSION].device_sync.start()


async def _finish_syncs(app: web.Application) -> None:
    session = app[SESSION]
    await session.device_sync.finish()
    await session.devices.cancel_delays()


async def _close_sync(app: web.Application) -> None:
    await app[SESSION].device_sync.close()


def add_device_routes(app: web.Application) -> None:
    """Add the device endpoints and /_mock/devices to ``app``.

    The sync's client session opens on application startup and closes on cleanup.
    """
    app.router.add_get(DEVICE_PATH, _get_device, allow_head=True)
    app.router.add_put(DEVICE_PATH, _put_device)
    # A control resource, so the control token guards it like the rest of /_mock/.
    app.router.add_route(
        "*", DEVICES_STATE_PATH, control_resource({"GET": _get_devices_state})
    )
    # aiohttp calls the shutdown hooks after it stopped accepting connections and
    # before it waits for running requests, and the cleanup hooks after that wait.
    app.on_startup.append(_start_sync)
    app.on_shutdown.append(_finish_syncs)
    app.on_cleanup.append(_close_sync)

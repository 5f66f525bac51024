"""The sync: pushing a new connectionData to every device over HTTP.

The sync runs after each successful database write, as ``RegistrationStore.sync``.
It sends one PUT per device that does not hold the value yet, all at once, through
one shared aiohttp client session, and returns the devices that failed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from xml.sax.saxutils import escape

import aiohttp

from .deviceconfig import DeviceConfig
from .devicestore import DeviceStore
from .registration import SyncFailure

__all__ = ["DEVICE_PATH", "DeviceSync", "device_path", "render_device_update"]

log = logging.getLogger("mockserver.devices")

# Path of a device's endpoint, on this server or under an external device's base URL.
DEVICE_PATH = "/_devices/{name}/contextservice"


def device_path(name: str) -> str:
    """Return the endpoint path of device ``name``."""
    return DEVICE_PATH.format(name=name)


def render_device_update(connection_data: str) -> str:
    """Render the body the sync sends to a device."""
    return (
        "<deviceContextService>"
        f"<connectionData>{escape(connection_data)}</connectionData>"
        "</deviceContextService>"
    )


class DeviceSync:
    """Push connectionData to the devices through one shared client session.

    ``internal_url`` returns the base URL at which this server reaches itself, where
    the simulated devices listen. The sync calls it each time because the port may
    be bound late.
    """

    def __init__(self, devices: DeviceStore, internal_url: Callable[[], str]) -> None:
        self.devices = devices
        self._internal_url = internal_url
        self._client: aiohttp.ClientSession | None = None
        self._running: set[asyncio.Task[list[SyncFailure]]] = set()

    async def start(self) -> None:
        """Open the client session; call on application startup."""
        if self._client is None:
            client = aiohttp.ClientSession(
                headers={"Content-Type": "application/xml; charset=utf-8"}
            )
            # aiohttp resends an idempotent request once after a dropped connection
            # (RFC 9112 section 9.3.1.1), so a device that resets would see every
            # update twice. The sync makes one attempt per device, so a device fault
            # fires once per sync. aiohttp 3.14 has no public switch for this.
            client._retry_connection = False
            self._client = client

    async def finish(self) -> None:
        """Wait for running syncs; call on application shutdown.

        Every device request has a timeout, so a sync ends within the largest one. A
        sync still running after that, plus one second, is cancelled.
        """
        running = list(self._running)
        if not running:
            return
        limit = max((device.timeout for device in self.devices.configs), default=0.0)
        log.info("Waiting up to %g s for %d running syncs", limit + 1, len(running))
        _, late = await asyncio.wait(running, timeout=limit + 1)
        for task in late:
            task.cancel()
        if late:
            log.warning("Cancelled %d syncs that outlived their timeouts", len(late))
            await asyncio.gather(*late, return_exceptions=True)

    async def close(self) -> None:
        """Close the client session; call on application cleanup."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    @property
    def is_open(self) -> bool:
        """Tell whether the client session is open."""
        return self._client is not None and not self._client.closed

    def url_of(self, device: DeviceConfig) -> str:
        """Return the URL the sync sends ``device``'s updates to."""
        base = device.url if device.url is not None else self._internal_url()
        return base.rstrip("/") + device_path(device.name)

    async def sync(self, connection_data: str) -> list[SyncFailure]:
        """Send ``connection_data`` to every device behind it; return the failures.

        The sync runs as a task of its own, which finish() waits for at shutdown.
        Cancelling the caller cancels the sync too.
        """
        task = asyncio.create_task(self._sync(connection_data))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await task

    async def _sync(self, connection_data: str) -> list[SyncFailure]:
        behind = [
            state.config
            for state in self.devices.states
            if state.connection_data != connection_data
        ]
        if not behind:
            log.info("Sync skipped: every device already has the value")
            return []

        reasons = await asyncio.gather(
            *(self._push(device, connection_data) for device in behind)
        )
        failures = [
            SyncFailure(device.name, reason)
            for device, reason in zip(behind, reasons, strict=True)
            if reason is not None
        ]
        log.info(
            "Sync to %d of %d devices: %d synced, %d failed",
            len(behind),
            len(self.devices.states),
            len(behind) - len(failures),
            len(failures),
        )
        return failures

    async def _push(self, device: DeviceConfig, connection_data: str) -> str | None:
        """Send the update to one device; return the failure reason, or None."""
        reason = await self._send(device, connection_data)
        self.devices.record_sync(device.name, connection_data, reason)
        if reason is not None:
            log.warning("Sync to device %s failed: %s", device.name, reason)
        return reason

    async def _send(self, device: DeviceConfig, connection_data: str) -> str | None:
        if self._client is None or self._client.closed:
            return "the sync client is closed because the server is stopping"
        url = self.url_of(device)
        try:
            async with self._client.put(
                url,
                data=render_device_update(connection_data).encode("utf-8"),
                timeout=aiohttp.ClientTimeout(total=device.timeout),
                allow_redirects=False,
                # A simulated device is this server itself, whose certificate need
                # not name the loopback address, so its certificate is not checked.
                ssl=device.url is not None,
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"device answered HTTP {response.status} {response.reason}"
        except TimeoutError:
            return f"timed out after {device.timeout:g} s"
        except aiohttp.ClientConnectorError as exc:
            if exc.os_error.errno == errno.ECONNREFUSED:
                return f"connection refused by {exc.host}:{exc.port}"
            return f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror}"
        except aiohttp.ServerDisconnectedError:
            return "connection reset: the device closed it before answering"
        except aiohttp.ClientOSError as exc:
            if exc.errno == errno.ECONNRESET:
                return "connection reset by the device"
            return f"connection failed: {exc.strerror or exc}"
        except aiohttp.ClientError as exc:
            return f"request failed: {exc}"

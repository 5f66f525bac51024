"""The device simulators' state and the behaviour that decides how a device responds.

Each device's state is an immutable ``DeviceState`` snapshot that is replaced in one
step, so a reader sees a whole old or a whole new device, never a mix.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from .deviceconfig import DeviceAction, DeviceConfig, DeviceFault

__all__ = [
    "DeviceBehaviour",
    "DeviceState",
    "DeviceStore",
    "SettingsBehaviour",
]

log = logging.getLogger("mockserver.devices")


@dataclass(frozen=True)
class DeviceState:
    """One immutable view of a device.

    ``connection_data`` and ``version`` are what the device stores: a simulated device
    sets them when it accepts an update, and for an external device the sync records
    the value the device acknowledged. ``sync_count`` counts the sync attempts made to
    the device, ``last_sync_at`` is the end of the latest one (seconds since the
    epoch) and ``last_error`` its failure reason, None after a success.
    """

    config: DeviceConfig
    connection_data: str = ""
    version: int = 0
    sync_count: int = 0
    last_sync_at: float | None = None
    last_error: str | None = None

    @property
    def name(self) -> str:
        """Return the device name."""
        return self.config.name


class DeviceBehaviour(Protocol):
    """Decide how a simulated device responds to each update it receives.

    ``DeviceStore.behaviour`` is one; the device endpoint awaits ``on_update`` once
    per PUT, after the body passed its contract and before anything is stored. The
    returned ``DeviceAction`` sets what the device does: wait ``delay`` seconds, then
    reset the connection (``reset``), or answer ``status``. Only a 2xx status stores
    the value. A delay longer than the device's timeout makes the sync time out.

    ``device`` is the configured device and ``connection_data`` the value received.
    The method runs on the event loop, so it must not block; it may await. External
    devices never reach it, because another server plays them.
    """

    async def on_update(
        self, device: DeviceConfig, connection_data: str
    ) -> DeviceAction:
        """Return what ``device`` does with the update to ``connection_data``."""
        ...


class SettingsBehaviour:
    """Respond to every update with the fault set for the device in settings, if any."""

    def __init__(self, faults: Iterable[DeviceFault] = ()) -> None:
        self._actions = {fault.device: fault.action for fault in faults}

    async def on_update(
        self, device: DeviceConfig, connection_data: str
    ) -> DeviceAction:
        """Return the configured fault of ``device``, or a plain 200."""
        return self._actions.get(device.name, DeviceAction())

    def __repr__(self) -> str:
        return f"<SettingsBehaviour {self._actions!r}>"


class DeviceStore:
    """Hold every device's state; the only place device state changes."""

    def __init__(
        self,
        devices: Iterable[DeviceConfig],
        behaviour: DeviceBehaviour | None = None,
        *,
        initial: str = "",
    ) -> None:
        self.behaviour: DeviceBehaviour = behaviour or SettingsBehaviour()
        self._states = {
            device.name: DeviceState(device, connection_data=initial)
            for device in devices
        }
        # Request handlers waiting in delay(), so that shutdown can end them.
        self._waiting: set[asyncio.Task[Any]] = set()

    def configure(
        self,
        devices: Iterable[DeviceConfig],
        faults: Iterable[DeviceFault] = (),
        *,
        initial: str = "",
    ) -> None:
        """Replace every device with a fresh one holding ``initial``.

        The behaviour becomes the settings' faults. Callers make sure no sync runs.
        """
        self.behaviour = SettingsBehaviour(faults)
        self._states = {
            device.name: DeviceState(device, connection_data=initial)
            for device in devices
        }

    @property
    def configs(self) -> tuple[DeviceConfig, ...]:
        """Return the configured devices in configuration order."""
        return tuple(state.config for state in self._states.values())

    @property
    def states(self) -> tuple[DeviceState, ...]:
        """Return the current snapshot of every device, in configuration order."""
        return tuple(self._states.values())

    def get(self, name: str) -> DeviceState | None:
        """Return the state of device ``name``, or None when there is no such device."""
        return self._states.get(name)

    def accept(self, name: str, connection_data: str) -> DeviceState:
        """Store an update that device ``name`` accepted and return its new state."""
        state = self._states[name]
        state = dataclasses.replace(
            state, connection_data=connection_data, version=state.version + 1
        )
        self._states[name] = state
        log.info("Device %s stored connectionData (version %d)", name, state.version)
        return state

    def record_sync(self, name: str, connection_data: str, error: str | None) -> None:
        """Record one sync attempt to device ``name`` and its result."""
        state = self._states[name]
        changes: dict[str, object] = {
            "sync_count": state.sync_count + 1,
            "last_sync_at": time.time(),
            "last_error": error,
        }
        # A simulated device stored the value itself; an external one is only known
        # to hold what it acknowledged.
        is_stored_here = state.config.is_external and error is None
        if is_stored_here and state.connection_data != connection_data:
            changes["connection_data"] = connection_data
            changes["version"] = state.version + 1
        self._states[name] = dataclasses.replace(state, **changes)  # type: ignore[arg-type]

    async def delay(self, seconds: float) -> None:
        """Wait ``seconds`` before a device responds; cancel_delays() can end it."""
        task = asyncio.current_task()
        if task is None:
            await asyncio.sleep(seconds)
            return
        self._waiting.add(task)
        try:
            await asyncio.sleep(seconds)
        finally:
            self._waiting.discard(task)

    async def cancel_delays(self) -> None:
        """Cancel every request handler waiting in delay() and wait until it ends.

        aiohttp waits for the handler of a closed connection at shutdown, up to its
        shutdown timeout, although no client reads the response any more.
        """
        waiting = list(self._waiting)
        for task in waiting:
            task.cancel()
        if waiting:
            log.info("Cancelled %d delayed device responses", len(waiting))
            await asyncio.gather(*waiting, return_exceptions=True)

    def __repr__(self) -> str:
        return f"<DeviceStore {', '.join(self._states)}>"

"""Device configuration: which devices exist, and the faults set on them by settings."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlsplit

from .errors import SettingsError

__all__ = [
    "DEFAULT_DEVICES",
    "DEFAULT_DEVICE_TIMEOUT",
    "DEVICE_TYPES",
    "DeviceAction",
    "DeviceConfig",
    "DeviceFault",
    "DeviceType",
    "apply_device_timeouts",
    "check_device_settings",
    "parse_device",
    "parse_device_delay",
    "parse_device_status",
    "parse_device_timeout",
]

DeviceType = Literal["cvp", "finesse", "socialminer"]
DEVICE_TYPES: tuple[DeviceType, ...] = ("cvp", "finesse", "socialminer")

# Seconds the sync waits for one device before it counts the device as failed.
DEFAULT_DEVICE_TIMEOUT = 5.0

# Device names become a URL path segment, so they stay within unreserved characters.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class DeviceConfig:
    """One CVP, Finesse or SocialMiner device that the sync pushes connectionData to.

    ``url`` is the base URL of an external device; the sync then sends its update to
    ``{url}/_devices/{name}/contextservice``. Without it, the device is simulated by
    this server. ``timeout`` is in seconds.
    """

    name: str
    type: DeviceType
    url: str | None = None
    timeout: float = DEFAULT_DEVICE_TIMEOUT

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise SettingsError(
                f"device name {self.name!r} is invalid; use 1 to 64 letters, digits, "
                "'.', '_' or '-', starting with a letter or digit"
            )
        if self.type not in DEVICE_TYPES:
            raise SettingsError(
                f"device {self.name!r} has unknown type {self.type!r}; "
                f"use one of {', '.join(DEVICE_TYPES)}"
            )
        if self.url is not None:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(
                    f"device {self.name!r} has URL {self.url!r}, which is not an "
                    "absolute http(s) URL such as http://127.0.0.1:9000"
                )
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise SettingsError(
                f"device {self.name!r} has timeout {self.timeout!r}; "
                "use a positive number of seconds"
            )

    @property
    def is_external(self) -> bool:
        """Tell whether another server, not this one, plays the device."""
        return self.url is not None


DEFAULT_DEVICES = (
    DeviceConfig("cvp-1", "cvp"),
    DeviceConfig("finesse-1", "finesse"),
    DeviceConfig("socialminer-1", "socialminer"),
)


@dataclass(frozen=True)
class DeviceAction:
    """The response of a simulated device to one update it receives.

    The device waits ``delay`` seconds, then either resets the connection (``reset``),
    or responds with ``status``. A 2xx status stores the value; any other rejects it.
    """

    status: int = 200
    delay: float = 0.0
    reset: bool = False

    def __post_init__(self) -> None:
        if not 200 <= self.status <= 599:
            raise ValueError(f"device status {self.status!r} is out of range 200..599")
        if not (math.isfinite(self.delay) and self.delay >= 0):
            raise ValueError(f"device delay {self.delay!r} must be >= 0 seconds")

    @property
    def is_accepted(self) -> bool:
        """Tell whether the device stores the update."""
        return not self.reset and 200 <= self.status < 300


@dataclass(frozen=True)
class DeviceFault:
    """A fault set by settings: device ``device`` handles every update with
    ``action``."""

    device: str
    action: DeviceAction


def parse_device(text: str) -> DeviceConfig:
    """Parse ``NAME:TYPE`` or ``NAME:TYPE=URL``."""
    spec, equals, url = text.partition("=")
    name, colon, kind = spec.partition(":")
    if not colon or not name or not kind or (equals and not url):
        raise SettingsError(
            f"device {text!r} is invalid; write NAME:TYPE or NAME:TYPE=URL, "
            "for example finesse-2:finesse or cvp-2:cvp=http://127.0.0.1:9000"
        )
    return DeviceConfig(name, cast(DeviceType, kind), url or None)


def parse_device_status(text: str) -> tuple[str, int]:
    """Parse ``NAME:STATUS``, where STATUS is an HTTP error status 300..599."""
    name, value = _split_pair(text, "NAME:STATUS", "finesse-1:503")
    try:
        status = int(value)
    except ValueError:
        status = 0
    if not 300 <= status <= 599:
        raise SettingsError(
            f"device failure {text!r} has status {value!r}; "
            "use an HTTP status from 300 to 599"
        )
    return name, status


def parse_device_delay(text: str) -> tuple[str, float]:
    """Parse ``NAME:SECONDS``."""
    name, value = _split_pair(text, "NAME:SECONDS", "cvp-1:2.5")
    return name, _parse_seconds(text, value, allow_zero=True)


def parse_device_timeout(text: str) -> tuple[str | None, float]:
    """Parse ``SECONDS`` (every device) or ``NAME:SECONDS`` (one device)."""
    if ":" not in text:
        return None, _parse_seconds(text, text, allow_zero=False)
    name, value = _split_pair(text, "[NAME:]SECONDS", "finesse-1:0.5")
    return name, _parse_seconds(text, value, allow_zero=False)


def check_device_settings(
    devices: Iterable[DeviceConfig], faults: Iterable[DeviceFault]
) -> None:
    """Raise SettingsError for duplicate device names, or for faults on devices that
    are not configured or are played by an external server."""
    by_name: dict[str, DeviceConfig] = {}
    for device in devices:
        if device.name in by_name:
            raise SettingsError(
                f"device {device.name!r} is configured twice; give each a unique name"
            )
        by_name[device.name] = device
    for fault in faults:
        target = by_name.get(fault.device)
        if target is None:
            raise SettingsError(
                f"a fault names device {fault.device!r}, which is not configured; "
                f"configured devices: {', '.join(sorted(by_name)) or '(none)'}"
            )
        if target.is_external:
            raise SettingsError(
                f"a fault names device {fault.device!r}, which the server at "
                f"{target.url} plays; faults apply only to simulated devices"
            )


def _split_pair(text: str, form: str, example: str) -> tuple[str, str]:
    name, colon, value = text.rpartition(":")
    if not colon or not name or not value:
        raise SettingsError(f"{text!r} is invalid; write {form}, for example {example}")
    return name, value


def _parse_seconds(text: str, value: str, *, allow_zero: bool) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = "0 or more" if allow_zero else "more than 0"
        raise SettingsError(
            f"{text!r} has {value!r} seconds; use a number of seconds {bound}"
        )
    return seconds


def apply_device_timeouts(
    devices: tuple[DeviceConfig, ...], timeouts: Iterable[tuple[str | None, float]]
) -> tuple[DeviceConfig, ...]:
    """Return ``devices`` with each timeout applied, in order.

    A timeout names one device, or every device when its name is None. Raises
    SettingsError when it names a device that is not configured.
    """
    for target, seconds in timeouts:
        if target is not None and all(device.name != target for device in devices):
            raise SettingsError(
                f"a device timeout names device {target!r}, which is not configured; "
                f"configured devices: {', '.join(d.name for d in devices) or '(none)'}"
            )
        devices = tuple(
            dataclasses.replace(device, timeout=seconds)
            if target in (None, device.name)
            else device
            for device in devices
        )
    return devices

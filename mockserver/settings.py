"""Server settings from command-line flags and MOCKSERVER_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from .deviceconfig import (
    DEFAULT_DEVICES,
    DeviceConfig,
    DeviceFault,
    apply_device_timeouts,
    check_device_settings,
)
from .errors import SettingsError
from .scenario.model import Scenario

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USER",
    "ENV_PREFIX",
    "WIZARD_MODES",
    "Settings",
    "WizardMode",
    "parse_bool",
    "parse_users",
]

ENV_PREFIX = "MOCKSERVER_"

# The documented default account, so `make run` works with curl out of the box.
DEFAULT_USER = "administrator@example.com"
DEFAULT_PASSWORD = "mockserver"

Profile = Literal["documented", "observed"]
LogFormat = Literal["text", "json"]
WizardMode = Literal["pages", "auto"]

PROFILES: tuple[Profile, ...] = ("documented", "observed")
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Upper bound of the journal size; an entry takes a few hundred bytes.
MAX_JOURNAL_SIZE = 1_000_000
WIZARD_MODES: tuple[WizardMode, ...] = ("pages", "auto")


@dataclass(frozen=True)
class Settings:
    """Everything that configures one server process; immutable once built."""

    host: str = "127.0.0.1"
    port: int = 8080
    # Base of every absolute URL the mock emits; None means http://{host}:{port}.
    public_url: str | None = None
    users: tuple[tuple[str, str], ...] = ((DEFAULT_USER, DEFAULT_PASSWORD),)
    auth: bool = True
    profile: Profile = "documented"
    cors: bool = False
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    access_log: bool = False
    # Largest request body read, in bytes; larger bodies get 413.
    max_body_size: int = 65536
    # Makes every database write fail with 500, until scenarios script it.
    fail_database_writes: bool = False
    # PEM certificate chain and private key; both set means the server speaks HTTPS.
    tls_cert: str | None = None
    tls_key: str | None = None
    # Maximum number of requests the journal keeps. Older ones are dropped and counted.
    journal_size: int = 1000
    # Bearer token that /_mock/ requests except the health checks must send, or None.
    control_token: str | None = field(default=None, repr=False)
    # The devices the sync pushes connectionData to, and the faults set on them.
    devices: tuple[DeviceConfig, ...] = DEFAULT_DEVICES
    device_faults: tuple[DeviceFault, ...] = ()
    # Timeouts in seconds that override the devices' own: for the named device, or
    # for every device when the name is None. They apply to whichever device list is
    # active, from the scenario or from flags.
    device_timeouts: tuple[tuple[str | None, float], ...] = ()
    # The active scenario; its profile and auth are already merged into the fields
    # above, because flags and environment variables override them.
    scenario: Scenario = field(default_factory=Scenario)
    # Reload the scenario file when it changes.
    watch: bool = False
    # "pages" shows the wizard's HTML pages; "auto" redirects back at once.
    wizard_mode: WizardMode = "pages"
    # Treats every non-empty connectionData as registered instead of checking tokens.
    accept_any_connection_data: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port {self.port!r} is out of range 0..65535")
        if self.profile not in PROFILES:
            raise SettingsError(
                f"profile {self.profile!r} is unknown; use one of {', '.join(PROFILES)}"
            )
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(
                f"log format {self.log_format!r} is unknown; "
                f"use one of {', '.join(LOG_FORMATS)}"
            )
        if self.wizard_mode not in WIZARD_MODES:
            raise SettingsError(
                f"wizard mode {self.wizard_mode!r} is unknown; "
                f"use one of {', '.join(WIZARD_MODES)}"
            )
        if self.log_level.upper() not in LOG_LEVELS:
            raise SettingsError(
                f"log level {self.log_level!r} is unknown; "
                f"use one of {', '.join(LOG_LEVELS)}"
            )
        if self.max_body_size < 1024:
            raise SettingsError(
                f"max body size {self.max_body_size!r} is too small; use at least 1024"
            )
        if not 1 <= self.journal_size <= MAX_JOURNAL_SIZE:
            raise SettingsError(
                f"journal size {self.journal_size!r} is out of range "
                f"1..{MAX_JOURNAL_SIZE}"
            )
        if self.control_token is not None and not self.control_token.strip():
            raise SettingsError(
                "control token is empty; set a non-empty token or leave it unset"
            )
        if self.public_url is not None:
            check_public_url(self.public_url)
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError(
                "TLS needs both a certificate and a key: set --tls-cert and --tls-key"
            )
        for path in (self.tls_cert, self.tls_key):
            if path is not None and not os.path.isfile(path):
                raise SettingsError(f"TLS file {path!r} does not exist")
        if self.auth and not self.users:
            raise SettingsError("authentication is on but no user is configured")
        if self.device_timeouts:
            # A frozen dataclass may normalise its own fields while it is built.
            object.__setattr__(
                self,
                "devices",
                apply_device_timeouts(self.devices, self.device_timeouts),
            )
        check_device_settings(self.devices, self.device_faults)

    @property
    def base_url(self) -> str:
        """Return the public base URL without a trailing slash."""
        if self.public_url is not None:
            return self.public_url.rstrip("/")
        return _base_url(self.scheme, self.host, self.port)

    @property
    def scheme(self) -> str:
        """Return the scheme the server speaks: https with TLS files, else http."""
        return "https" if self.tls_cert is not None else "http"

    @property
    def internal_url(self) -> str:
        """Return the base URL at which this server reaches itself.

        This is the bind address, with a wildcard address replaced by the loopback
        address of its family.
        """
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(
            self.host, self.host
        )
        return _base_url(self.scheme, host, self.port)

    @property
    def is_default_user(self) -> bool:
        """Tell whether the documented default account is the only user."""
        return self.users == ((DEFAULT_USER, DEFAULT_PASSWORD),)


def _base_url(scheme: str, host: str, port: int) -> str:
    """Return ``scheme://host:port``, with an IPv6 address in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def check_public_url(url: str) -> None:
    """Raise SettingsError unless ``url`` is an absolute http(s) URL without a query."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"public URL {url!r} is not an absolute http(s) URL, "
            "for example http://localhost:8080"
        )
    if parts.query or parts.fragment:
        raise SettingsError(f"public URL {url!r} must not have a query or fragment")


def parse_users(values: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Parse ``NAME:PASSWORD`` items, split at the first colon."""
    users: list[tuple[str, str]] = []
    for value in values:
        name, colon, password = value.partition(":")
        if not colon or not name or not password:
            raise SettingsError(
                f"user {value.split(':', 1)[0]!r} is invalid; "
                "write NAME:PASSWORD, for example administrator@example.com:secret"
            )
        users.append((name, password))
    return tuple(users)


def parse_bool(name: str, value: str) -> bool:
    """Parse a boolean environment variable: 1/0, true/false, yes/no, on/off."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}={value!r} is not a boolean; use true or false")


def env_items(environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """Return the process environment, or ``environ`` when given."""
    return os.environ if environ is None else environ

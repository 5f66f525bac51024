"""The session: every piece of mutable state one mock instance owns.

Handlers reach the session through the request, never through module globals, so
one process can later host several isolated sessions.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .apierrors import ApiError
from .auth import BasicAuth
from .connectiondata import TokenAuthority
from .contracts import ContractsLoader
from .devicestore import DeviceStore, SettingsBehaviour
from .devicesync import DeviceSync
from .journal import Journal
from .registration import Database, RegistrationStore
from .scenario import FaultEngine, Scenario
from .scenario.apply import start_scenario
from .settings import Settings

__all__ = [
    "CONTRACT_WARNINGS",
    "REJECTION_ERRORS",
    "SESSION",
    "ContextServiceConfig",
    "ReadinessCheck",
    "ResetCallback",
    "Session",
    "build_session",
    "session_of",
]

# Request key under which handlers leave the contract warnings of a request body.
CONTRACT_WARNINGS = web.RequestKey("contract_warnings", tuple[str, ...])
# Request key under which handlers leave the apiErrors of a body they rejected.
REJECTION_ERRORS = web.RequestKey("rejection_errors", tuple[ApiError, ...])

# Tells whether one part of the mock is ready to serve.
ReadinessCheck = Callable[[], bool]
# Puts one part of the mock back to its initial state. It may be a coroutine function.
ResetCallback = Callable[[], Awaitable[None] | None]

log = logging.getLogger("mockserver.session")


@dataclass(frozen=True)
class ContextServiceConfig:
    """The Context Service client settings served at .../contextservice."""

    lab_mode: bool = False
    max_retries: int = 3
    proxy_url: str = ""
    # Milliseconds.
    timeout: int = 1000


@dataclass
class Session:
    """One mock instance: settings, registration, tokens, devices and journal."""

    settings: Settings
    store: RegistrationStore
    contracts: ContractsLoader
    public_url: str
    # Base URL at which this server reaches itself, and so its simulated devices.
    internal_url: str
    devices: DeviceStore
    device_sync: DeviceSync
    journal: Journal = field(default_factory=Journal)
    # The registration the scenario started with, which reset() puts back.
    initial_connection_data: str = ""
    initial_revoked: bool = False
    # Settings given by flags or environment variables; they win over every
    # scenario loaded while the server runs.
    overrides: Mapping[str, Any] = field(default_factory=dict)
    # Readiness checks by name. The mock is ready when every one returns True.
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    # Called by reset() after the registration and the journal, in order.
    reset_callbacks: list[ResetCallback] = field(default_factory=list)
    # Mints, checks and revokes connectionData; its secret lives as long as the session.
    tokens: TokenAuthority = field(default_factory=TokenAuthority)
    service_config: ContextServiceConfig = field(default_factory=ContextServiceConfig)
    # Rendered GET bodies keyed by (version, state, callbackUrl, JSON or not).
    render_cache: dict[tuple[int, str, str | None, bool], bytes] = field(
        default_factory=dict
    )
    # Fault-rule counters of the active scenario; replaced when a scenario loads.
    faults: FaultEngine = field(default_factory=FaultEngine)
    auth: BasicAuth = field(default_factory=lambda: BasicAuth(()))

    @property
    def scenario(self) -> Scenario:
        """Return the active scenario."""
        return self.settings.scenario

    def configure_auth(self) -> None:
        """Build the Basic authenticator from the settings' users."""
        self.auth = BasicAuth(self.settings.users)

    def failing_readiness_checks(self) -> list[str]:
        """Return the names of the readiness checks that do not pass."""
        failing = []
        for name, check in self.readiness_checks.items():
            try:
                passed = check()
            except Exception:
                log.exception("Readiness check %r raised", name)
                passed = False
            if not passed:
                failing.append(name)
        return failing

    async def reset(self) -> None:
        """Put the scenario back at its start, clear the journal, run the callbacks.

        The registration gets the value the scenario started with, and the devices,
        revocations and fault-rule counters start afresh.
        """
        start_scenario(self, restart=True)
        self.journal.clear()
        for callback in self.reset_callbacks:
            result = callback()
            if inspect.isawaitable(result):
                await result
        log.info("Session reset, registration is now %s", self.store.state)


SESSION = web.AppKey("session", Session)


def build_session(settings: Settings) -> Session:
    """Build a fresh session from ``settings``."""
    database = Database(fail_writes=settings.fail_database_writes)
    tokens = TokenAuthority(accept_any=settings.accept_any_connection_data)
    store = RegistrationStore(database=database, checker=tokens.is_live)
    devices = DeviceStore(
        settings.devices,
        SettingsBehaviour(settings.device_faults),
        initial=store.current.connection_data,
    )
    session = Session(
        settings=settings,
        store=store,
        contracts=ContractsLoader(),
        public_url=settings.base_url,
        internal_url=settings.internal_url,
        devices=devices,
        device_sync=DeviceSync(devices, lambda: session.internal_url),
        journal=Journal(settings.journal_size),
        tokens=tokens,
    )
    store.sync = session.device_sync.sync
    session.readiness_checks["contracts compiled"] = lambda: session.contracts.is_ready
    # The scenario loads before the socket is bound, and the simulated devices respond
    # on that socket, so the sync's client session is the last part to start.
    # NOTE: external devices are not probed; the first sync reports them if down.
    session.readiness_checks["device sync started"] = lambda: (
        session.device_sync.is_open
    )
    session.configure_auth()
    start_scenario(session)
    return session


def session_of(request: web.Request) -> Session:
    """Return the session that serves ``request``."""
    return request.app[SESSION]

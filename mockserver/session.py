"""The session: every piece of mutable state one mock instance owns.

Handlers reach the session through the request, never through module globals, so
one process can later host several isolated sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from .contracts import ContractsLoader
from .registration import Database, RegistrationStore
from .scenario import FaultEngine, Scenario
from .scenario.apply import start_scenario
from .settings import Settings

__all__ = [
    "CONTRACT_WARNINGS",
    "SESSION",
    "ContextServiceConfig",
    "Session",
    "build_session",
    "session_of",
]

# Request key under which handlers leave the contract warnings of a request body.
CONTRACT_WARNINGS = web.RequestKey("contract_warnings", tuple[str, ...])


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
    """One mock instance: settings, registration store and contracts."""

    settings: Settings
    store: RegistrationStore
    contracts: ContractsLoader
    public_url: str
    service_config: ContextServiceConfig = field(default_factory=ContextServiceConfig)
    # Rendered GET bodies keyed by (version, state, callbackUrl, JSON or not).
    render_cache: dict[tuple[int, str, str | None, bool], bytes] = field(
        default_factory=dict
    )
    scenario: Scenario = field(default_factory=Scenario)
    # Fault-rule counters of the active scenario; replaced when a scenario loads.
    faults: FaultEngine = field(default_factory=FaultEngine)


SESSION = web.AppKey("session", Session)


def build_session(settings: Settings) -> Session:
    """Build a fresh session from ``settings``."""
    database = Database(fail_writes=settings.fail_database_writes)
    session = Session(
        settings=settings,
        store=RegistrationStore(database=database),
        contracts=ContractsLoader(),
        public_url=settings.base_url,
    )
    start_scenario(session, settings.scenario)
    return session


def session_of(request: web.Request) -> Session:
    """Return the session that serves ``request``."""
    return request.app[SESSION]

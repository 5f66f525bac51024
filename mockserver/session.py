"""The session: every piece of mutable state one mock instance owns.

Handlers reach the session through the request, never through module globals, so
one process can later host several isolated sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from .connectiondata import TokenAuthority
from .contracts import ContractsLoader
from .registration import Database, RegistrationStore
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
    """One mock instance: settings, registration store, tokens and contracts."""

    settings: Settings
    store: RegistrationStore
    contracts: ContractsLoader
    public_url: str
    # Mints, checks and revokes connectionData; its secret lives as long as the session.
    tokens: TokenAuthority = field(default_factory=TokenAuthority)
    service_config: ContextServiceConfig = field(default_factory=ContextServiceConfig)
    # Rendered GET bodies keyed by (version, state, callbackUrl, JSON or not).
    render_cache: dict[tuple[int, str, str | None, bool], bytes] = field(
        default_factory=dict
    )


SESSION = web.AppKey("session", Session)


def build_session(settings: Settings) -> Session:
    """Build a fresh session from ``settings``."""
    database = Database(fail_writes=settings.fail_database_writes)
    tokens = TokenAuthority(accept_any=settings.accept_any_connection_data)
    return Session(
        settings=settings,
        store=RegistrationStore(database=database, checker=tokens.is_live),
        contracts=ContractsLoader(),
        public_url=settings.base_url,
        tokens=tokens,
    )


def session_of(request: web.Request) -> Session:
    """Return the session that serves ``request``."""
    return request.app[SESSION]

"""Applying a scenario to settings and to a session.

Kept out of the package's ``__init__`` because it imports the settings, which
themselves import the scenario model.

Seams for the roles built on top of this module:

- ``start_scenario(session, scenario, mint=..., live_checker=...)``: pass the
  live-token minter and checker of the connectionData module, so that
  ``registration: {state: registered}`` and ``{mint: true}`` store a live token and
  stored values that are not live read invalid (unless the scenario sets
  ``accept_any_connection_data``).
- Device sync: ``inject_fault(session, f"device:{name}", request, body=raw)`` at the
  top of the simulator's PUT handler, so delays, drops and timeouts happen on the
  real connection the sync opened.
- Wizard: ``fire_fault(session, "wizard.authorize", request)``. A fired ``cancel``
  is the wizard's own response, and everything else goes to ``apply_fault``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..registration import (
    ConnectionDataChecker,
    DatabaseError,
    WriteHook,
    accept_any_connection_data,
)
from ..settings import Settings
from .model import InitialRegistration, Scenario
from .respond import fault_error
from .rules import FaultEngine, RequestView

if TYPE_CHECKING:
    from ..session import Session

__all__ = [
    "database_fault_hook",
    "initial_connection_data",
    "install_scenario",
    "placeholder_token",
    "scenario_settings",
    "settings_for",
    "start_scenario",
]

log = logging.getLogger("mockserver.scenario")

Minter = Callable[[], str]


def scenario_settings(scenario: Scenario) -> dict[str, Any]:
    """Return the Settings fields a scenario sets: itself, profile and auth."""
    values: dict[str, Any] = {
        "scenario": scenario,
        "profile": scenario.profile,
        "auth": scenario.auth.enabled,
    }
    if scenario.auth.users:
        values["users"] = scenario.auth.users
    return values


def settings_for(scenario: Scenario, overrides: Mapping[str, Any]) -> Settings:
    """Build Settings from the scenario; ``overrides`` (flags, environment) win."""
    return Settings(**{**scenario_settings(scenario), **overrides})


def placeholder_token() -> str:
    """Return a connectionData value in the real format: Base64 of a JSON document."""
    # NOTE: a stand-in until a live-token minter is passed to start_scenario; the
    # configuration API accepts any non-empty value as registered without one.
    document = {"kind": "mockserver-placeholder", "id": str(uuid.uuid4())}
    return base64.b64encode(json.dumps(document).encode()).decode("ascii")


def initial_connection_data(
    registration: InitialRegistration, mint: Minter = placeholder_token
) -> tuple[str, bool]:
    """Return the connectionData to store at start and whether it starts revoked."""
    if registration.connection_data is not None:
        return registration.connection_data, False
    if registration.mint or registration.state == "registered":
        return mint(), False
    if registration.state == "invalid":
        return mint(), True
    return "", False


def start_scenario(
    session: Session,
    scenario: Scenario,
    mint: Minter = placeholder_token,
    live_checker: ConnectionDataChecker | None = None,
) -> None:
    """Set the session's registration, its checker and the fault engine."""
    store = session.store
    # NOTE: without a live checker every non-empty value reads registered, as if
    # accept_any_connection_data were set.
    if scenario.accept_any_connection_data or live_checker is None:
        store.checker = accept_any_connection_data
    else:
        store.checker = live_checker
    value, revoked = initial_connection_data(scenario.registration, mint)
    store.reset(value)
    if revoked:
        store.invalidate()
    session.scenario = scenario
    session.faults = FaultEngine(
        scenario.faults, seed=scenario.seed, state=lambda: store.state
    )
    store.database.before_write = database_fault_hook(session)
    session.render_cache.clear()


def install_scenario(session: Session, settings: Settings) -> None:
    """Switch a running session to ``settings`` and its scenario."""
    scenario = settings.scenario
    if settings.users != session.settings.users:
        # NOTE: the authenticator is built once per application, so a changed
        # user list only applies after a restart.
        log.warning(
            "Scenario %r changes the users; restart the server to apply them",
            scenario.name,
        )
    session.settings = settings
    # TODO: pass the live-token minter and checker here too once the connectionData
    # module provides them; until then a reload uses the placeholders.
    start_scenario(session, scenario)
    log.info(
        "Scenario %r loaded from %s: %d fault rules, registration %s",
        scenario.name,
        scenario.source or "(built in)",
        len(scenario.faults),
        session.store.state,
    )


def database_fault_hook(session: Session) -> WriteHook:
    """Return the database write hook that fires the session's database.write rules."""

    async def before_write(value: str) -> None:
        fired = session.faults.fire(
            "database.write", RequestView.for_database_write(value)
        )
        if fired is None:
            return
        action = fired.action
        if action.delay:
            await asyncio.sleep(action.delay)
        if action.invalidate:
            session.store.invalidate()
        if action.status is not None:
            raise DatabaseError(
                f"fault rule {fired.rule.index} failed the write",
                status=action.status,
                errors=(fault_error(fired, action.status),),
            )

    return before_write

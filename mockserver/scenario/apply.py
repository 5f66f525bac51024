"""Applying a scenario to settings and to a session.

Kept out of the package's ``__init__`` because it imports the settings, which
themselves import the scenario model.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..registration import DatabaseError, WriteHook
from ..settings import DEFAULT_PASSWORD, DEFAULT_USER, Settings
from .model import InitialRegistration, Scenario
from .respond import fault_error
from .rules import FaultEngine, RequestView

if TYPE_CHECKING:
    from ..session import Session

__all__ = [
    "database_fault_hook",
    "initial_connection_data",
    "install_scenario",
    "scenario_settings",
    "settings_for",
    "start_scenario",
    "switch_settings",
]

log = logging.getLogger("mockserver.scenario")

Minter = Callable[[], str]


def scenario_settings(scenario: Scenario) -> dict[str, Any]:
    """Return the Settings fields a scenario sets."""
    return {
        "scenario": scenario,
        "profile": scenario.profile,
        "auth": scenario.auth.enabled,
        "users": scenario.auth.users or ((DEFAULT_USER, DEFAULT_PASSWORD),),
        "devices": scenario.devices,
        "wizard_mode": scenario.wizard_mode,
        "accept_any_connection_data": scenario.accept_any_connection_data,
    }


def settings_for(scenario: Scenario, overrides: Mapping[str, Any]) -> Settings:
    """Build Settings from the scenario; ``overrides`` (flags, environment) win."""
    return Settings(**{**scenario_settings(scenario), **overrides})


def switch_settings(
    current: Settings, scenario: Scenario, overrides: Mapping[str, Any]
) -> Settings:
    """Return ``current`` with ``scenario``'s settings; ``overrides`` win again."""
    return dataclasses.replace(current, **{**scenario_settings(scenario), **overrides})


def initial_connection_data(
    registration: InitialRegistration, mint: Minter
) -> tuple[str, bool]:
    """Return the connectionData to store at start and whether it starts revoked."""
    if registration.connection_data is not None:
        return registration.connection_data, False
    if registration.mint or registration.state == "registered":
        return mint(), False
    if registration.state == "invalid":
        return mint(), True
    return "", False


def start_scenario(session: Session, *, restart: bool = False) -> None:
    """Put the session at the start of its scenario.

    Sets the registration, the token checks, the devices and fresh fault counters.
    With ``restart`` the registration gets the value the scenario started with
    before, so a minted token stays the same across a reset.
    """
    settings = session.settings
    scenario = settings.scenario
    tokens = session.tokens
    tokens.reset()
    tokens.accept_any = settings.accept_any_connection_data
    store = session.store
    store.checker = tokens.is_live
    if restart:
        value, revoked = session.initial_connection_data, session.initial_revoked
    else:
        value, revoked = initial_connection_data(
            scenario.registration, lambda: tokens.mint().value
        )
    store.reset(value)
    if revoked:
        store.invalidate()
    session.initial_connection_data = value
    session.initial_revoked = revoked
    session.devices.configure(settings.devices, settings.device_faults, initial=value)
    session.faults = FaultEngine(
        scenario.faults, seed=scenario.seed, state=lambda: store.state
    )
    store.database.before_write = database_fault_hook(session)
    session.render_cache.clear()


def install_scenario(session: Session, settings: Settings) -> None:
    """Switch a running session to ``settings`` and start its scenario.

    The caller makes sure no update is running, since the devices change.
    """
    scenario = settings.scenario
    session.settings = settings
    session.configure_auth()
    start_scenario(session)
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
            await session.devices.delay(action.delay)
        if action.invalidate:
            session.store.invalidate()
        if action.status is not None:
            raise DatabaseError(
                f"fault rule {fired.rule.index} failed the write",
                status=action.status,
                errors=(fault_error(fired, action.status),),
            )

    return before_write

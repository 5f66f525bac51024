"""Scenarios: the YAML format, its loader and the fault-rule engine.

``mockserver.scenario.apply`` applies a scenario to settings and to a session; it is
imported from there, not re-exported here, because the settings import this package.
"""

from __future__ import annotations

from .loader import (
    DEFAULT_SCENARIO,
    SCENARIO_DIR,
    SCENARIO_SCHEMA,
    bundled_scenarios,
    load_scenario,
    parse_scenario,
    resolve_scenario,
)
from .model import (
    ACTIONS_BY_TARGET,
    DEFAULT_DEVICES,
    DEVICE_PREFIX,
    FIXED_TARGETS,
    Action,
    AuthConfig,
    CallWindow,
    Device,
    FaultRule,
    InitialRegistration,
    Match,
    Scenario,
    target_kind,
)
from .respond import (
    FAULT_HEADER,
    FIRED_FAULT,
    apply_fault,
    fault_error,
    fire_fault,
    inject_fault,
    view_of,
)
from .rules import FaultEngine, FiredFault, RequestView, matches

__all__ = [
    "ACTIONS_BY_TARGET",
    "DEFAULT_DEVICES",
    "DEFAULT_SCENARIO",
    "DEVICE_PREFIX",
    "FAULT_HEADER",
    "FIRED_FAULT",
    "FIXED_TARGETS",
    "SCENARIO_DIR",
    "SCENARIO_SCHEMA",
    "Action",
    "AuthConfig",
    "CallWindow",
    "Device",
    "FaultEngine",
    "FaultRule",
    "FiredFault",
    "InitialRegistration",
    "Match",
    "RequestView",
    "Scenario",
    "apply_fault",
    "bundled_scenarios",
    "fault_error",
    "fire_fault",
    "inject_fault",
    "load_scenario",
    "matches",
    "parse_scenario",
    "resolve_scenario",
    "target_kind",
    "view_of",
]

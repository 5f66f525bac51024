"""The scenario model: immutable data loaded from one YAML file.

Every field has the default that an absent YAML key gets, so ``Scenario()`` is the
happy path: not registered, the three default devices, no fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..deviceconfig import DEFAULT_DEVICES, DeviceConfig

__all__ = [
    "ACTIONS_BY_TARGET",
    "DEFAULT_DEVICES",
    "DEVICE_PREFIX",
    "FIXED_TARGETS",
    "Action",
    "AuthConfig",
    "CallWindow",
    "Device",
    "FaultRule",
    "InitialRegistration",
    "Match",
    "Scenario",
    "target_kind",
]

WizardMode = Literal["pages", "auto"]
ScenarioProfile = Literal["documented", "observed"]
StateName = Literal["notRegistered", "registered", "invalid"]

DEVICE_PREFIX = "device:"
FIXED_TARGETS = (
    "config.get",
    "config.put",
    "database.write",
    "wizard.authorize",
    "wizard.unauthorize",
)

# The action keys each kind of target supports; the loader rejects any other.
# "delay" and "invalidate" are side effects that every target supports.
_HTTP_ACTIONS = frozenset(
    {
        "status",
        "errorType",
        "message",
        "delay",
        "busy",
        "empty",
        "malformed",
        "drop",
        "timeout",
        "invalidate",
    }
)
ACTIONS_BY_TARGET: dict[str, frozenset[str]] = {
    "config": _HTTP_ACTIONS,
    "database": frozenset({"status", "errorType", "message", "delay", "invalidate"}),
    "wizard": _HTTP_ACTIONS | {"cancel", "unreachable"},
    "device": _HTTP_ACTIONS - {"busy"},
}


def target_kind(target: str) -> str:
    """Return the kind of a target: config, database, wizard or device."""
    if target.startswith(DEVICE_PREFIX):
        return "device"
    return target.split(".", 1)[0]


# The scenario format describes devices with the same fields as the settings.
Device = DeviceConfig


@dataclass(frozen=True)
class InitialRegistration:
    """The registration at start: a state, a stored connectionData, or a minted token.

    At most one of the three is set; none means notRegistered.
    """

    state: StateName | None = None
    connection_data: str | None = None
    mint: bool = False

    def __repr__(self) -> str:
        if self.connection_data is not None:
            return f"<InitialRegistration connectionData={len(self.connection_data)}B>"
        if self.mint:
            return "<InitialRegistration mint>"
        return f"<InitialRegistration {self.state or 'notRegistered'}>"


@dataclass(frozen=True)
class AuthConfig:
    """HTTP Basic authentication of the configuration API."""

    enabled: bool = True
    # Empty: keep the server's users (the documented default account).
    users: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        if not self.enabled:
            return "<AuthConfig off>"
        names = ",".join(name for name, _ in self.users) or "default"
        return f"<AuthConfig users={names}>"


@dataclass(frozen=True)
class CallWindow:
    """The calls a rule may fire on, counted from 1; ``last`` None means no end."""

    first: int = 1
    last: int | None = None

    def contains(self, call: int) -> bool:
        """Tell whether call number ``call`` lies in the window."""
        return call >= self.first and (self.last is None or call <= self.last)

    def __repr__(self) -> str:
        if self.last == self.first:
            return str(self.first)
        return f"{self.first}..{'' if self.last is None else self.last}"


@dataclass(frozen=True)
class Match:
    """Request conditions: all given headers, query parameters and the XPath match."""

    # Header names compare case-insensitively, values exactly.
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    # XPath 2.0 on the XML body; it matches when it selects something or is true.
    xpath: str | None = None

    def __repr__(self) -> str:
        parts = [f"{name}: {value}" for name, value in self.headers]
        parts += [f"?{name}={value}" for name, value in self.query]
        if self.xpath is not None:
            parts.append(f"xpath {self.xpath}")
        return f"<Match {', '.join(parts)}>"


@dataclass(frozen=True)
class Action:
    """The effect of a fault: side effects (delay, invalidate) and at most one response.

    The response is one of: status, empty, malformed, drop, timeout, cancel,
    unreachable, busy. Empty and malformed may carry a status too.
    """

    status: int | None = None
    error_type: str | None = None
    message: str | None = None
    # Seconds to wait before responding or going on.
    delay: float = 0.0
    # Seconds during which config.put returns 503, starting when the rule fires.
    busy: float | None = None
    empty: bool = False
    malformed: bool = False
    drop: bool = False
    # Seconds to hold the request before dropping the connection.
    timeout: float | None = None
    invalidate: bool = False
    cancel: bool = False
    unreachable: bool = False

    @property
    def response(self) -> str | None:
        """Return the kind of response this action sends in place of the normal one.

        One of ``empty``, ``malformed``, ``drop``, ``timeout``, ``cancel``,
        ``unreachable``, ``busy``, ``status``, or None when the request goes on
        normally after the side effects.
        """
        for kind in ("empty", "malformed", "drop", "cancel", "unreachable"):
            if getattr(self, kind):
                return kind
        if self.timeout is not None:
            return "timeout"
        if self.busy is not None:
            return "busy"
        if self.status is not None:
            return "status"
        return None

    def __repr__(self) -> str:
        return f"<Action {self.describe()}>"

    def describe(self) -> str:
        """Return a short text such as ``status=503 delay=2s``."""
        parts: list[str] = []
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.error_type is not None:
            parts.append(f"errorType={self.error_type}")
        for name in ("delay", "busy", "timeout"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={value:g}s")
        for name in (
            "empty",
            "malformed",
            "drop",
            "invalidate",
            "cancel",
            "unreachable",
        ):
            if getattr(self, name):
                parts.append(name)
        return " ".join(parts) or "nothing"


@dataclass(frozen=True)
class FaultRule:
    """Where, when and what to inject; ``index`` is the rule's place in the file."""

    target: str
    action: Action
    index: int = 0
    # None: every call to the target.
    calls: CallWindow | None = None
    # None: no limit on how often the rule fires.
    times: int | None = None
    # Seconds since the scenario started before the rule applies.
    after: float = 0.0
    probability: float | None = None
    while_state: StateName | None = None
    match: Match | None = None
    description: str = ""

    def __repr__(self) -> str:
        parts = [f"<FaultRule {self.target}"]
        if self.calls is not None:
            parts.append(f"calls={self.calls!r}")
        if self.times is not None:
            parts.append(f"times={self.times}")
        if self.after:
            parts.append(f"after={self.after:g}s")
        if self.probability is not None:
            parts.append(f"probability={self.probability:g}")
        if self.while_state is not None:
            parts.append(f"while_state={self.while_state}")
        if self.match is not None:
            parts.append(f"match={self.match!r}")
        return " ".join([*parts, self.action.describe()]) + ">"


@dataclass(frozen=True)
class Scenario:
    """One scenario file: the starting situation and the fault rules."""

    name: str = "happy-path"
    description: str = ""
    seed: int = 0
    registration: InitialRegistration = InitialRegistration()
    devices: tuple[Device, ...] = DEFAULT_DEVICES
    wizard_mode: WizardMode = "pages"
    auth: AuthConfig = AuthConfig()
    profile: ScenarioProfile = "documented"
    accept_any_connection_data: bool = False
    faults: tuple[FaultRule, ...] = ()
    # The file the scenario came from; None when built in code.
    source: str | None = None

    @property
    def device_names(self) -> tuple[str, ...]:
        """Return the names of the devices in file order."""
        return tuple(device.name for device in self.devices)

    def rules_for(self, target: str) -> tuple[FaultRule, ...]:
        """Return the fault rules aimed at ``target``, in file order."""
        return tuple(rule for rule in self.faults if rule.target == target)

    def __repr__(self) -> str:
        return (
            f"<Scenario {self.name} {self.registration!r} "
            f"devices={','.join(self.device_names)} wizard={self.wizard_mode} "
            f"{self.auth!r} profile={self.profile} faults={len(self.faults)}>"
        )

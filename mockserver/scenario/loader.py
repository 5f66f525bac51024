"""Loading of scenario files: YAML with positions, schema and rule checks, the model.

Every problem in a file is reported at once, one line each, as
``file:line:column: /json/pointer: message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from .checks import SCENARIO_SCHEMA, did_you_mean, rule_problems, schema_problems
from .document import compose
from .model import (
    DEFAULT_DEVICES,
    Action,
    AuthConfig,
    CallWindow,
    Device,
    FaultRule,
    InitialRegistration,
    Match,
    Scenario,
)

__all__ = [
    "DEFAULT_SCENARIO",
    "SCENARIO_DIR",
    "SCENARIO_SCHEMA",
    "bundled_scenarios",
    "load_scenario",
    "parse_scenario",
    "resolve_scenario",
]

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
DEFAULT_SCENARIO = "happy-path"


def bundled_scenarios() -> list[Path]:
    """Return the bundled scenario files, sorted by name."""
    return sorted(SCENARIO_DIR.glob("*.yaml"))


def resolve_scenario(reference: str | Path) -> Path:
    """Return the file of a scenario given by bundled name or by path.

    Raises ScenarioError when the reference is neither.
    """
    text = str(reference)
    path = Path(text)
    looks_like_path = "/" in text or path.suffix in (".yaml", ".yml")
    if looks_like_path or path.is_file():
        return path
    bundled = SCENARIO_DIR / f"{text}.yaml"
    if bundled.is_file():
        return bundled
    names = [candidate.stem for candidate in bundled_scenarios()]
    raise ScenarioError(
        [
            f"{text}: no such file and no bundled scenario of that name"
            f"{did_you_mean(text, names)}; bundled scenarios: {', '.join(names)}"
        ]
    )


def load_scenario(reference: str | Path) -> Scenario:
    """Load and check the scenario given by bundled name or by path.

    Raises ScenarioError carrying one line per problem.
    """
    path = resolve_scenario(reference)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read the file: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [f"{path}: the file is not valid UTF-8 (byte {exc.start})"]
        ) from exc
    return parse_scenario(text, str(path))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse and check scenario YAML; ``source`` names the file in error lines.

    Raises ScenarioError carrying one line per problem, sorted by position.
    """
    document = compose(text, source)
    problems = list(document.duplicates)
    problems += schema_problems(document)
    problems += rule_problems(document)
    if problems:
        problems.sort(key=lambda problem: (problem.line, problem.column))
        # Two checks can report the same problem, such as a missing key next to an
        # unknown one; each line is reported once.
        lines = dict.fromkeys(problem.format(source) for problem in problems)
        raise ScenarioError(list(lines))
    return _build(document.data, source)


def _build(data: dict[str, Any], source: str) -> Scenario:
    registration = data.get("registration", {})
    auth = data.get("auth", {})
    wizard = data.get("wizard", {})
    devices = data.get("devices")
    return Scenario(
        name=data["name"],
        description=" ".join(str(data.get("description", "")).split()),
        seed=data.get("seed", 0),
        registration=InitialRegistration(
            state=registration.get("state"),
            connection_data=registration.get("connectionData"),
            mint=registration.get("mint", False),
        ),
        devices=DEFAULT_DEVICES
        if devices is None
        else tuple(
            Device(
                device["name"],
                device["type"],
                device.get("url"),
                float(device.get("timeout", 5)),
            )
            for device in devices
        ),
        wizard_mode=wizard.get("mode", "pages"),
        auth=AuthConfig(
            enabled=auth.get("enabled", True),
            users=tuple(
                (user["name"], user["password"]) for user in auth.get("users", ())
            ),
        ),
        profile=data.get("profile", "documented"),
        accept_any_connection_data=data.get("accept_any_connection_data", False),
        faults=tuple(
            _build_rule(index, rule)
            for index, rule in enumerate(data.get("faults", []))
        ),
        source=source,
    )


def _build_rule(index: int, rule: dict[str, Any]) -> FaultRule:
    calls: CallWindow | None = None
    if "nth" in rule:
        calls = CallWindow(rule["nth"], rule["nth"])
    elif "from" in rule or "to" in rule:
        calls = CallWindow(rule.get("from", 1), rule.get("to"))
    match = rule.get("match")
    return FaultRule(
        target=rule["target"],
        action=_build_action(rule["action"]),
        index=index,
        calls=calls,
        times=rule.get("times"),
        after=float(rule.get("after", 0)),
        probability=rule.get("probability"),
        while_state=rule.get("while_state"),
        match=None
        if match is None
        else Match(
            headers=tuple(match.get("headers", {}).items()),
            query=tuple(match.get("query", {}).items()),
            xpath=match.get("xpath"),
        ),
        description=rule.get("description", ""),
    )


def _build_action(action: dict[str, Any]) -> Action:
    def seconds(key: str) -> float | None:
        value = action.get(key)
        return None if value is None else float(value)

    return Action(
        status=action.get("status"),
        error_type=action.get("errorType"),
        message=action.get("message"),
        delay=float(action.get("delay", 0)),
        busy=seconds("busy"),
        empty=action.get("empty", False),
        malformed=action.get("malformed", False),
        drop=action.get("drop", False),
        timeout=seconds("timeout"),
        invalidate=action.get("invalidate", False),
        cancel=action.get("cancel", False),
        unreachable=action.get("unreachable", False),
    )

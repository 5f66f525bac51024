"""Checks of a scenario document: the JSON Schema, then rules it cannot express.

Each schema error becomes a message with what was expected and what was found. An
unknown key or value gets a did-you-mean.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .document import Document, Problem, escape, pointer_of
from .model import (
    ACTIONS_BY_TARGET,
    DEFAULT_DEVICES,
    DEVICE_PREFIX,
    FIXED_TARGETS,
    target_kind,
)

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

__all__ = ["SCENARIO_SCHEMA", "did_you_mean", "rule_problems", "schema_problems"]

SCENARIO_SCHEMA = (
    Path(__file__).resolve().parent.parent / "schemas" / "scenario.schema.json"
)

# Responses that replace the normal one. An action carries at most one.
_RESPONSES = ("empty", "malformed", "drop", "timeout", "cancel", "unreachable", "busy")
# Responses that may carry a status of their own.
_RESPONSES_WITH_STATUS = ("empty", "malformed")


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCENARIO_SCHEMA.read_text(encoding="utf-8"))
    # Imported here: jsonschema takes a tenth of a second to import, which only
    # loading a scenario file needs.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema)


def schema_problems(document: Document) -> list[Problem]:
    problems: list[Problem] = []
    for error in _validator().iter_errors(document.data):
        problems.extend(_describe(error, document))
    return problems


def _describe(error: ValidationError, document: Document) -> list[Problem]:
    pointer = pointer_of(error.absolute_path)
    instance = error.instance
    schema = cast(dict[str, Any], error.schema)
    kind = error.validator
    if kind == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        extras = [key for key in instance if str(key) not in known]
        return [
            document.problem(
                f"{pointer}/{escape(str(key))}",
                f"unknown key {str(key)!r}{did_you_mean(str(key), known)}; "
                f"expected one of: {', '.join(known)}",
                at_key=True,
            )
            for key in extras
        ]
    if kind == "required":
        missing = [key for key in error.validator_value if key not in instance]
        return [
            document.problem(
                pointer,
                f"expected the required key {key!r}, found a mapping without it",
            )
            for key in missing
        ]
    return [document.problem(pointer, _message(error, pointer, instance, schema))]


def _message(
    error: ValidationError, pointer: str, instance: Any, schema: dict[str, Any]
) -> str:
    kind = error.validator
    expected = error.validator_value
    found = _shown(instance)
    if kind == "type":
        return f"expected {_type_names(expected)}, found {found}"
    if kind == "enum":
        choices = ", ".join(repr(choice) for choice in expected)
        hint = did_you_mean(str(instance), [str(choice) for choice in expected])
        return f"expected one of {choices}, found {found}{hint}"
    if kind == "const":
        return f"expected {json.dumps(expected)}, found {found}"
    if kind == "pattern" and pointer.endswith("/target"):
        return _target_message(str(instance))
    if kind == "pattern":
        return f"expected a string matching {expected}, found {found}"
    bounds = {
        "minimum": ">=",
        "maximum": "<=",
        "exclusiveMinimum": ">",
        "exclusiveMaximum": "<",
    }
    if kind in bounds:
        return f"expected a number {bounds[kind]} {expected}, found {found}"
    if kind in ("minLength", "maxLength"):
        limit = "at least" if kind == "minLength" else "at most"
        return f"expected {limit} {expected} characters, found {len(instance)}"
    if kind in ("minItems", "maxItems"):
        limit = "at least" if kind == "minItems" else "at most"
        return f"expected {limit} {expected} items, found {len(instance)}"
    if kind == "maxProperties":
        keys = ", ".join(str(key) for key in instance)
        allowed = ", ".join(schema.get("properties", {}))
        return f"expected at most {expected} of {allowed}, found {keys}"
    if kind == "minProperties":
        allowed = ", ".join(schema.get("properties", {}))
        return f"expected at least {expected} of {allowed}, found an empty mapping"
    return f"{error.message}"


def _target_message(target: str) -> str:
    known = [*FIXED_TARGETS, f"{DEVICE_PREFIX}NAME"]
    return (
        f"expected a target ({', '.join(known)}), found unknown target {target!r}"
        f"{did_you_mean(target, list(FIXED_TARGETS))}"
    )


def _type_names(expected: str | list[str]) -> str:
    names = {
        "object": "a mapping",
        "array": "a list",
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
        "null": "null",
    }
    if isinstance(expected, str):
        return names.get(expected, expected)
    return " or ".join(names.get(item, item) for item in expected)


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, int | float):
        return (
            f"{type(value).__name__ if isinstance(value, float) else 'integer'} {value}"
        )
    return f"{type(value).__name__} {value!r}"


def did_you_mean(word: str, options: list[str]) -> str:
    """Return ` (did you mean 'x'?)` for the closest option, or an empty string."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def rule_problems(document: Document) -> list[Problem]:
    """Check what the schema cannot: device names, targets and action combinations."""
    data = document.data
    if not isinstance(data, dict):
        return []
    problems = _device_problems(data.get("devices"), document)
    declared = _declared_devices(data.get("devices"))
    faults = data.get("faults")
    if not isinstance(faults, list):
        return problems
    for index, rule in enumerate(faults):
        if isinstance(rule, dict):
            problems += _fault_problems(rule, f"/faults/{index}", declared, document)
    return problems


def _declared_devices(devices: Any) -> list[str]:
    if not isinstance(devices, list):
        return [device.name for device in DEFAULT_DEVICES]
    names = (
        str(device["name"])
        for device in devices
        if isinstance(device, dict) and "name" in device
    )
    return list(dict.fromkeys(names))


def _device_problems(devices: Any, document: Document) -> list[Problem]:
    if not isinstance(devices, list):
        return []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, device in enumerate(devices):
        if not isinstance(device, dict) or "name" not in device:
            continue
        name = str(device["name"])
        if name in seen:
            problems.append(
                document.problem(
                    f"/devices/{index}/name",
                    f"expected a unique device name, found {name!r} a second time",
                )
            )
        seen.add(name)
    return problems


def _fault_problems(
    rule: dict[str, Any], pointer: str, declared: list[str], document: Document
) -> list[Problem]:
    problems: list[Problem] = []
    target = rule.get("target")
    if isinstance(target, str) and target.startswith(DEVICE_PREFIX):
        name = target[len(DEVICE_PREFIX) :]
        if name and name not in declared:
            problems.append(
                document.problem(
                    f"{pointer}/target",
                    f"expected a declared device, found undeclared device {name!r}"
                    f"{did_you_mean(name, declared)}; declared devices: "
                    f"{', '.join(declared) or '(none)'}",
                )
            )
    if "nth" in rule and ("from" in rule or "to" in rule):
        problems.append(
            document.problem(
                f"{pointer}/nth",
                "expected either nth or from/to, found both",
                at_key=True,
            )
        )
    first, last = rule.get("from", 1), rule.get("to")
    if isinstance(first, int) and isinstance(last, int) and last < first:
        problems.append(
            document.problem(
                f"{pointer}/to", f"expected a number >= from ({first}), found {last}"
            )
        )
    action = rule.get("action")
    if isinstance(action, dict) and isinstance(target, str):
        problems += _action_problems(action, target, f"{pointer}/action", document)
    match = rule.get("match")
    if isinstance(match, dict):
        problems += _match_problems(match, target, f"{pointer}/match", document)
    return problems


def _action_problems(
    action: dict[str, Any], target: str, pointer: str, document: Document
) -> list[Problem]:
    problems: list[Problem] = []
    allowed = ACTIONS_BY_TARGET.get(target_kind(target))
    if allowed is not None:
        for key in action:
            if key in allowed or key not in _known_action_keys():
                continue
            problems.append(
                document.problem(
                    f"{pointer}/{key}",
                    f"expected an action that applies to {target} "
                    f"({', '.join(sorted(allowed))}), found {key!r}",
                    at_key=True,
                )
            )
    responses = [key for key in _RESPONSES if key in action]
    if len(responses) > 1:
        problems.append(
            document.problem(
                pointer,
                f"expected at most one of {', '.join(_RESPONSES)}, "
                f"found {', '.join(responses)}",
            )
        )
    if "status" in action and responses and responses[0] not in _RESPONSES_WITH_STATUS:
        problems.append(
            document.problem(
                f"{pointer}/status",
                f"expected no status with {responses[0]!r}, "
                f"found status {action['status']}",
                at_key=True,
            )
        )
    status = action.get("status")
    if target == "database.write" and isinstance(status, int) and status < 400:
        problems.append(
            document.problem(
                f"{pointer}/status",
                f"expected a status of 400 or more for a failed write, found {status}",
            )
        )
    for key in ("errorType", "message"):
        if key in action and ("status" not in action or responses):
            problems.append(
                document.problem(
                    f"{pointer}/{key}",
                    f"expected {key} only beside a status response, "
                    "found it without one",
                    at_key=True,
                )
            )
    return problems


@cache
def _known_action_keys() -> frozenset[str]:
    schema = _validator().schema
    return frozenset(schema["$defs"]["action"]["properties"])


def _match_problems(
    match: dict[str, Any], target: Any, pointer: str, document: Document
) -> list[Problem]:
    problems: list[Problem] = []
    if target == "database.write":
        for key in ("headers", "query"):
            if key in match:
                problems.append(
                    document.problem(
                        f"{pointer}/{key}",
                        f"expected only xpath for database.write, found {key!r}; "
                        "a database write has no headers or query",
                        at_key=True,
                    )
                )
    xpath = match.get("xpath")
    if isinstance(xpath, str) and xpath:
        from elementpath import ElementPathError, XPath2Parser

        try:
            XPath2Parser().parse(xpath)
        except ElementPathError as exc:
            problems.append(
                document.problem(
                    f"{pointer}/xpath",
                    f"expected an XPath 2.0 expression, found {xpath!r}: {exc.message}",
                )
            )
    return problems

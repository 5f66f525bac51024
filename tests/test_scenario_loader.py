"""Loading scenario files: error lines for broken files, bundled files, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.errors import ScenarioError
from mockserver.scenario import (
    DEFAULT_DEVICES,
    Action,
    CallWindow,
    FaultRule,
    Scenario,
    bundled_scenarios,
    load_scenario,
    parse_scenario,
)

DATA = Path(__file__).parent / "data" / "scenarios"

BUNDLED = (
    "auth-required",
    "busy-sync",
    "database-failure",
    "flaky-device",
    "happy-path",
    "invalid-connection-data",
    "partial-sync",
    "registered",
    "slow-devices",
    "wizard-cancelled",
    "wizard-unreachable",
)


def error_lines(name: str) -> list[str]:
    """Return the error lines of broken file ``name``, with the path cut off."""
    path = DATA / name
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    prefix = f"{path}:"
    assert all(line.startswith(prefix) for line in caught.value.lines)
    return [line.removeprefix(prefix) for line in caught.value.lines]


def test_unknown_key__did_you_mean() -> None:
    lines = error_lines("unknown-key.yaml")

    assert lines == [
        "2:1: /regstration: unknown key 'regstration' (did you mean 'registration'?);"
        " expected one of: accept_any_connection_data, auth, description, devices,"
        " faults, name, profile, registration, seed, wizard",
        "5:5: /faults/0: expected the required key 'action',"
        " found a mapping without it",
        "6:5: /faults/0/actoin: unknown key 'actoin' (did you mean 'action'?);"
        " expected one of: action, after, description, from, match, nth, probability,"
        " target, times, to, while_state",
    ]


def test_wrong_types__expected_and_found() -> None:
    lines = error_lines("wrong-type.yaml")

    assert lines == [
        "2:7: /seed: expected an integer, found string 'lots'",
        "4:9: /wizard/mode: expected one of 'pages', 'auto', found string 'page'"
        " (did you mean 'pages'?)",
        "7:10: /faults/0/nth: expected an integer, found string '2'",
        "9:14: /faults/0/action/delay: expected a number > 0, found integer -1",
    ]


def test_bad_target_and_actions() -> None:
    lines = error_lines("bad-target.yaml")

    assert lines == [
        "3:13: /faults/0/target: expected a target (config.get, config.put,"
        " database.write, wizard.authorize, wizard.unauthorize, device:NAME), found"
        " unknown target 'config.post' (did you mean 'config.put'?)",
        "8:7: /faults/1/action/status: expected no status with 'drop',"
        " found status 500",
        "12:7: /faults/2/action/cancel: expected an action that applies to config.get"
        " (busy, delay, drop, empty, errorType, invalidate, malformed, message, status,"
        " timeout), found 'cancel'",
    ]


def test_undeclared_device__lists_declared() -> None:
    lines = error_lines("undeclared-device.yaml")

    assert lines == [
        "8:13: /faults/0/target: expected a declared device, found undeclared device"
        " 'finesse-b' (did you mean 'finesse-a'?); declared devices: cvp-a, finesse-a",
    ]


def test_yaml_syntax_error__has_position() -> None:
    lines = error_lines("syntax-error.yaml")

    assert lines == [
        "5:1: YAML syntax error: expected ',' or '}', but got '<stream end>'"
        " (while parsing a flow mapping at 4:13)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: x\nfaults:\n  - target: device:cvp-1\n    action: {drop: true}\n"
            "  - target: device:cvp-9\n    action: {drop: true}\n",
            "5:13: /faults/1/target: expected a declared device, found undeclared"
            " device 'cvp-9' (did you mean 'cvp-1'?); declared devices: cvp-1,"
            " finesse-1, socialminer-1",
        ),
        (
            "name: x\nname: y\n",
            "2:1: /name: duplicate key 'name'; each key may appear once",
        ),
        (
            "name: x\nfaults:\n  - target: config.get\n    from: 3\n    to: 2\n"
            "    action: {status: 500}\n",
            "5:9: /faults/0/to: expected a number >= from (3), found 2",
        ),
        (
            "name: x\nfaults:\n  - target: config.put\n    nth: 1\n    from: 1\n"
            "    action: {status: 500}\n",
            "4:5: /faults/0/nth: expected either nth or from/to, found both",
        ),
        (
            "name: x\nfaults:\n  - target: config.put\n"
            "    match: {xpath: 'connectionData['}\n    action: {status: 500}\n",
            "4:20: /faults/0/match/xpath: expected an XPath 2.0 expression, found"
            " 'connectionData[': unexpected end of source",
        ),
        (
            "name: x\nregistration: {state: registered, mint: true}\n",
            "2:15: /registration: expected at most 1 of state, connectionData, mint,"
            " found state, mint",
        ),
        (
            "name: x\nfaults:\n  - target: config.put\n"
            "    action: {errorType: mock.x}\n",
            "4:14: /faults/0/action/errorType: expected errorType only beside a status"
            " response, found it without one",
        ),
        (
            "name: x\nfaults:\n  - target: database.write\n    action: {status: 200}\n",
            "4:22: /faults/0/action/status: expected a status of 400 or more for a"
            " failed write, found 200",
        ),
        (
            "description: no name\n",
            "1:1: /: expected the required key 'name', found a mapping without it",
        ),
        (
            "- name: x\n",
            "1:1: /: expected a mapping, found a list",
        ),
    ],
    ids=[
        "default-devices",
        "duplicate-key",
        "reversed-window",
        "nth-and-window",
        "bad-xpath",
        "two-registrations",
        "error-type-alone",
        "database-write-success",
        "missing-name",
        "not-a-mapping",
    ],
)
def test_parse_scenario__error_line(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "inline.yaml")

    assert caught.value.lines == (f"inline.yaml:{expected}",)


def test_every_error_reported_at_once() -> None:
    text = "name: x\nseed: -1\nprofile: seen\nwizzard: {}\n"

    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "inline.yaml")

    assert [line.split(": ")[1] for line in caught.value.lines] == [
        "/seed",
        "/profile",
        "/wizzard",
    ]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_is_valid(name: str) -> None:
    scenario = load_scenario(name)

    assert scenario.name == name
    assert len(scenario.description) > 80


def test_bundled_files_are_the_expected_set() -> None:
    names = tuple(path.stem for path in bundled_scenarios())

    assert names == BUNDLED


def test_two_line_file_gets_defaults() -> None:
    scenario = load_scenario(DATA / "two-line.yaml")

    assert scenario == Scenario(
        name="two-line",
        description=scenario.description,
        source=str(DATA / "two-line.yaml"),
    )
    assert scenario.devices == DEFAULT_DEVICES
    assert scenario.registration.state is None
    assert scenario.auth.enabled


def test_happy_path_is_the_model_default() -> None:
    scenario = load_scenario("happy-path")

    assert scenario == Scenario(
        description=scenario.description, source=scenario.source
    )


def test_unknown_scenario_name__suggests_bundled() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("busy-synk")

    assert caught.value.lines == (
        "busy-synk: no such file and no bundled scenario of that name (did you mean"
        f" 'busy-sync'?); bundled scenarios: {', '.join(BUNDLED)}",
    )


def test_rule_is_built_from_yaml() -> None:
    scenario = load_scenario(DATA / "counters.yaml")

    assert scenario.faults[2] == FaultRule(
        target="config.put",
        index=2,
        calls=CallWindow(2, 3),
        action=Action(
            status=409, error_type="mock.conflict", message="Scripted conflict."
        ),
    )
    assert repr(scenario.faults[2]) == (
        "<FaultRule config.put calls=2..3 status=409 errorType=mock.conflict>"
    )
    assert repr(scenario.faults[0]) == (
        "<FaultRule config.get calls=3 status=500 errorType=mock.thirdCall>"
    )


def test_unknown_and_missing_keys__each_line_once() -> None:
    text = "name: x\nfaults:\n  - actoin: {status: 500}\n"

    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "inline.yaml")

    assert caught.value.lines == (
        "inline.yaml:3:5: /faults/0/actoin: unknown key 'actoin' (did you mean "
        "'action'?); expected one of: action, after, description, from, match, nth, "
        "probability, target, times, to, while_state",
        "inline.yaml:3:5: /faults/0: expected the required key 'target', found a "
        "mapping without it",
        "inline.yaml:3:5: /faults/0: expected the required key 'action', found a "
        "mapping without it",
    )

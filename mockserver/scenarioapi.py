"""The control API's ``/_mock/scenario``: read the active scenario or load another."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from .admin import control_error, control_resource
from .errors import ScenarioError, SettingsError
from .scenario import Scenario, bundled_scenarios, load_scenario, parse_scenario
from .scenario.apply import install_scenario, switch_settings
from .session import Session

__all__ = ["SCENARIO_PATH", "add_scenario_routes", "describe_scenario"]

log = logging.getLogger("mockserver.scenario")

SCENARIO_PATH = "/_mock/scenario"
# Source name that error lines give a scenario sent in a request body.
BODY_SOURCE = "<request body>"
_JSON_TYPE = "application/json"


def describe_scenario(session: Session) -> dict[str, Any]:
    """Return the active scenario and its fault-rule counters as JSON data."""
    scenario = session.scenario
    calls = session.faults.calls
    firings = session.faults.firings
    registration = scenario.registration
    return {
        "name": scenario.name,
        "description": scenario.description,
        "source": scenario.source,
        "seed": scenario.seed,
        "profile": scenario.profile,
        "wizardMode": scenario.wizard_mode,
        "acceptAnyConnectionData": scenario.accept_any_connection_data,
        "registration": {
            "state": registration.state,
            "connectionData": registration.connection_data,
            "mint": registration.mint,
        },
        "devices": [
            {
                "name": device.name,
                "type": device.type,
                "url": device.url,
                "timeout": device.timeout,
            }
            for device in scenario.devices
        ],
        "faults": [
            {
                "index": rule.index,
                "target": rule.target,
                "description": rule.description,
                "rule": repr(rule),
                "calls": calls[position],
                "firings": firings[position],
            }
            for position, rule in enumerate(scenario.faults)
        ],
        "bundled": [path.stem for path in bundled_scenarios()],
    }


async def _get_scenario(request: web.Request, session: Session) -> web.Response:
    return web.json_response(describe_scenario(session))


async def _put_scenario(request: web.Request, session: Session) -> web.Response:
    if session.store.is_busy:
        return _busy()
    try:
        scenario = _scenario_of(request.content_type, await request.read())
        settings = switch_settings(session.settings, scenario, session.overrides)
    except ScenarioError as exc:
        return _invalid(list(exc.lines))
    except SettingsError as exc:
        return _invalid([f"{BODY_SOURCE}: {exc}"])
    except _UnknownName as exc:
        return control_error(
            404, str(exc), field="name", expected=exc.expected, value=exc.name
        )
    # Nothing above awaits after the busy check, so no update can have started.
    install_scenario(session, settings)
    return web.json_response(describe_scenario(session))


class _UnknownName(Exception):
    def __init__(self, name: str) -> None:
        names = [path.stem for path in bundled_scenarios()]
        self.name = name
        self.expected = f"one of {', '.join(names)}"
        super().__init__(f"No bundled scenario is named {name!r}; use {self.expected}.")


def _scenario_of(content_type: str, raw: bytes) -> Scenario:
    """Load a bundled scenario by name, or parse scenario YAML from the body.

    A JSON body names a bundled scenario as ``{"name": NAME}``. Any other body is
    YAML: a bare name, or a whole scenario document. Only bundled scenarios load by
    name, so a request cannot make the server read one of its files.
    """
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{BODY_SOURCE}: the body is not valid UTF-8"]) from exc
    name = _bundled_name(content_type, text)
    if name is None:
        return parse_scenario(text, BODY_SOURCE)
    if name not in {path.stem for path in bundled_scenarios()}:
        raise _UnknownName(name)
    return load_scenario(name)


def _bundled_name(content_type: str, text: str) -> str | None:
    if content_type == _JSON_TYPE:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise ScenarioError([f"{BODY_SOURCE}: invalid JSON: {exc}"]) from exc
        name = document.get("name") if isinstance(document, dict) else None
        if not isinstance(name, str) or set(document) != {"name"}:
            raise ScenarioError(
                [f'{BODY_SOURCE}: a JSON body must be {{"name": NAME}}, found {text!r}']
            )
        return name
    stripped = text.strip()
    is_bare_word = stripped and not any(mark in stripped for mark in ":\n{[#")
    return stripped if is_bare_word else None


def _invalid(lines: list[str]) -> web.Response:
    body = {
        "error": {
            "status": 400,
            "message": "The scenario is invalid; the running scenario stays.",
            "lines": lines,
        }
    }
    log.warning("Rejected a scenario from the control API: %s", "; ".join(lines))
    return web.json_response(body, status=400)


def _busy() -> web.Response:
    return control_error(
        409,
        "A registration update or device sync is running; "
        "load the scenario again once it ends.",
        headers={"Retry-After": "1"},
    )


def add_scenario_routes(app: web.Application) -> None:
    """Add ``GET`` and ``PUT /_mock/scenario`` to ``app``, guarded by the token.

    Call it before any catch-all route under /_mock/.
    """
    app.router.add_route(
        "*",
        SCENARIO_PATH,
        control_resource({"GET": _get_scenario, "PUT": _put_scenario}),
    )

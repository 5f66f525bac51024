"""The control API's ``POST /_mock/connection-data``: mint a live token for tests.

Tests that need connection data without walking the wizard call it, then send the
token with the update API as a client would.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .admin import control_resource
from .connectiondata import (
    DEFAULT_ORGANIZATION,
    ORGANIZATIONS,
    Organization,
    find_organization,
)
from .session import Session

__all__ = ["CONNECTION_DATA_PATH", "add_token_routes", "mint_connection_data"]

CONNECTION_DATA_PATH = "/_mock/connection-data"

_MAX_ISSUED_TO_CHARS = 128
_MAX_REQUEST_BYTES = 4096


class _InvalidOption(ValueError):
    """One field of the request body is invalid: what it expects and what it got."""

    def __init__(self, field: str, expected: str, value: object) -> None:
        super().__init__(f"{field}: expected {expected}, found {value!r}")
        self.field = field
        self.expected = expected
        self.value = value


async def mint_connection_data(request: web.Request, session: Session) -> web.Response:
    """Mint a token; the optional JSON body sets organizationId and issuedTo.

    Returns the token and its decoded fields. An invalid body gets 400 with the
    control API's error object.
    """
    try:
        options = await _read_options(request)
        organization = _organization_option(options)
        issued_to = _issued_to_option(options)
    except _InvalidOption as exc:
        error = {
            "status": 400,
            "message": str(exc),
            "field": exc.field,
            "expected": exc.expected,
            "value": exc.value if _is_json(exc.value) else repr(exc.value),
        }
        return web.json_response({"error": error}, status=400)

    token = session.tokens.mint(organization=organization, issued_to=issued_to)
    return web.json_response(
        {"connectionData": token.value, "fields": dict(token.fields)}
    )


async def _read_options(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    raw = await request.content.read(_MAX_REQUEST_BYTES + 1)
    if len(raw) > _MAX_REQUEST_BYTES:
        expected = f"a JSON object of at most {_MAX_REQUEST_BYTES} bytes"
        raise _InvalidOption("body", expected, f"{len(raw)} bytes or more")
    if not raw.strip():
        return {}
    try:
        options = json.loads(raw)
    except ValueError as exc:
        raise _InvalidOption("body", "a JSON object", f"invalid JSON: {exc}") from exc
    if not isinstance(options, dict):
        raise _InvalidOption("body", "a JSON object", options)
    return options


def _organization_option(options: dict[str, Any]) -> Organization:
    organization_id = options.get("organizationId")
    if organization_id is None:
        return DEFAULT_ORGANIZATION
    found = (
        find_organization(organization_id) if isinstance(organization_id, str) else None
    )
    if found is not None:
        return found
    known = ", ".join(item.id for item in ORGANIZATIONS)
    raise _InvalidOption("organizationId", f"one of {known}", organization_id)


def _issued_to_option(options: dict[str, Any]) -> str:
    issued_to = options.get("issuedTo", "administrator@example.com")
    if not isinstance(issued_to, str) or not 0 < len(issued_to) <= _MAX_ISSUED_TO_CHARS:
        expected = f"a string of 1 to {_MAX_ISSUED_TO_CHARS} characters"
        raise _InvalidOption("issuedTo", expected, issued_to)
    return issued_to


def _is_json(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def add_token_routes(app: web.Application) -> None:
    """Add ``POST /_mock/connection-data`` to ``app``, guarded by the control token.

    Call it before any catch-all route under /_mock/, which would otherwise match
    first.
    """
    app.router.add_route(
        "*", CONNECTION_DATA_PATH, control_resource({"POST": mint_connection_data})
    )

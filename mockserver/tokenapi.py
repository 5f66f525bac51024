"""The control API's ``POST /_mock/connection-data``: mint a live token for tests.

Tests that need connection data without walking the wizard call it, then send the
token with the update API as a client would.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .connectiondata import DEFAULT_ORGANIZATION, ORGANIZATIONS, find_organization
from .session import session_of

__all__ = ["CONNECTION_DATA_PATH", "add_token_routes"]

CONNECTION_DATA_PATH = "/_mock/connection-data"

_MAX_ISSUED_TO_CHARS = 128
_MAX_REQUEST_BYTES = 4096


async def _mint_connection_data(request: web.Request) -> web.Response:
    """Mint a token; the optional JSON body picks organizationId and issuedTo."""
    try:
        options = await _read_options(request)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)

    organization = DEFAULT_ORGANIZATION
    organization_id = options.get("organizationId")
    if organization_id is not None:
        found = find_organization(str(organization_id))
        if found is None:
            known = ", ".join(item.id for item in ORGANIZATIONS)
            message = (
                f"organizationId {organization_id!r} is unknown; use one of {known}"
            )
            return web.json_response({"error": message}, status=400)
        organization = found
    issued_to = options.get("issuedTo", "administrator@example.com")
    if not isinstance(issued_to, str) or not 0 < len(issued_to) <= _MAX_ISSUED_TO_CHARS:
        message = (
            f"issuedTo {issued_to!r} is invalid; "
            f"send a string of 1 to {_MAX_ISSUED_TO_CHARS} characters"
        )
        return web.json_response({"error": message}, status=400)

    token = session_of(request).tokens.mint(
        organization=organization, issued_to=issued_to
    )
    return web.json_response(
        {"connectionData": token.value, "fields": dict(token.fields)}
    )


async def _read_options(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    raw = await request.content.read(_MAX_REQUEST_BYTES + 1)
    if len(raw) > _MAX_REQUEST_BYTES:
        raise ValueError(f"the request body is larger than {_MAX_REQUEST_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        options = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(options, dict):
        raise ValueError("the request body must be a JSON object")
    return options


def add_token_routes(app: web.Application) -> None:
    """Add ``POST /_mock/connection-data`` to ``app``."""
    app.router.add_post(CONNECTION_DATA_PATH, _mint_connection_data)

"""The control API under /_mock/: health, reset, state, journal, verify and OpenAPI.

Control requests get JSON responses, need the bearer token when one is set (health
checks excepted), never need the configuration API's Basic credentials, and are not
recorded in the journal.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .contracts import SCHEMA_DIR
from .controlinput import (
    InvalidInput,
    parse_journal_parameters,
    parse_json_body,
    parse_state_body,
    parse_verify_body,
)
from .journal import format_time, verify
from .session import (
    Session,
    session_of,
)

__all__ = [
    "CONTROL_PREFIX",
    "OPENAPI_FILE",
    "ControlHandler",
    "add_control_routes",
    "control_error",
    "control_resource",
]

log = logging.getLogger("mockserver.admin")

CONTROL_PREFIX = "/_mock"
OPENAPI_FILE = SCHEMA_DIR / "control-api.openapi.json"

ControlHandler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def control_error(
    status: int,
    message: str,
    *,
    field: str | None = None,
    expected: str | None = None,
    value: object = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Build a control API error response with a JSON body."""
    error: dict[str, Any] = {"status": status, "message": message}
    if field is not None:
        error["field"] = field
        error["expected"] = expected
        error["value"] = _json_safe(value)
    return web.json_response({"error": error}, status=status, headers=headers)


def _json_safe(value: object) -> object:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _has_token(session: Session, request: web.Request) -> bool:
    token = session.settings.control_token
    if token is None:
        return True
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


def _unauthorized(request: web.Request) -> web.Response:
    challenge = 'Bearer realm="mockserver control API"'
    if "Authorization" in request.headers:
        challenge += ', error="invalid_token"'
    return control_error(
        401,
        "The control API needs the header 'Authorization: Bearer TOKEN' with the "
        "token set by --control-token or MOCKSERVER_CONTROL_TOKEN.",
        headers={"WWW-Authenticate": challenge},
    )


def control_resource(
    handlers: dict[str, ControlHandler], *, public: bool = False
) -> Route:
    """Build a route that checks the token, then dispatches by method.

    Other parts add their /_mock/ resources with it, so every control resource
    shares the token check, the JSON 405 response and the 400 for InvalidInput.
    """
    if "GET" in handlers:
        handlers = {**handlers, "HEAD": handlers["GET"]}
    allowed = ", ".join(sorted(handlers))

    async def dispatch(request: web.Request) -> web.StreamResponse:
        session = session_of(request)
        if not public and not _has_token(session, request):
            return _unauthorized(request)
        handler = handlers.get(request.method)
        if handler is None:
            return control_error(
                405,
                f"Method {request.method} is not allowed on {request.path}; "
                f"allowed: {allowed}.",
                headers={"Allow": allowed},
            )
        try:
            return await handler(request, session)
        except InvalidInput as exc:
            log.info("Rejected %s %s: %s", request.method, request.path, exc)
            return control_error(
                400,
                exc.message,
                field=exc.field,
                expected=exc.expected,
                value=exc.value,
            )

    return dispatch


async def _live(request: web.Request, session: Session) -> web.Response:
    return web.json_response({"status": "live"})


async def _ready(request: web.Request, session: Session) -> web.Response:
    failing = session.failing_readiness_checks()
    checks = {name: name not in failing for name in session.readiness_checks}
    if failing:
        body = {"status": "not ready", "checks": checks, "failing": failing}
        return web.json_response(body, status=503, headers={"Retry-After": "1"})
    return web.json_response({"status": "ready", "checks": checks, "failing": []})


def _state_body(session: Session) -> dict[str, Any]:
    store = session.store
    current = store.current
    return {
        "state": store.state_of(current),
        "connectionData": current.connection_data,
        "version": current.version,
        "updatedAt": format_time(round(current.updated_at * 1_000_000)),
        "busy": store.is_busy,
    }


async def _get_state(request: web.Request, session: Session) -> web.Response:
    return web.json_response(_state_body(session))


async def _put_state(request: web.Request, session: Session) -> web.Response:
    value = parse_state_body(parse_json_body(await request.read()))

    before = session.store.state
    session.store.reset(value)
    log.info(
        "Control API set the registration from %s to %s", before, session.store.state
    )
    return web.json_response(_state_body(session))


async def _reset(request: web.Request, session: Session) -> web.Response:
    if session.store.is_busy:
        return control_error(
            409,
            "A registration update or device sync is running; reset again once it "
            "ends.",
            headers={"Retry-After": "1"},
        )
    await session.reset()
    return web.json_response(_state_body(session))


async def _get_journal(request: web.Request, session: Session) -> web.Response:
    query, limit = parse_journal_parameters(request.query)

    journal = session.journal
    selected = query.select(journal)
    returned = selected if limit is None else selected[-limit:]
    return web.json_response(
        {
            "capacity": journal.capacity,
            "stored": len(journal),
            "recorded": journal.recorded,
            "dropped": journal.dropped,
            "matched": len(selected),
            "entries": [entry.as_dict() for entry in returned],
        }
    )


async def _clear_journal(request: web.Request, session: Session) -> web.Response:
    cleared = len(session.journal)
    session.journal.clear()
    return web.json_response({"cleared": cleared})


async def _verify(request: web.Request, session: Session) -> web.Response:
    verification = parse_verify_body(parse_json_body(await request.read()))

    result = await verify(
        session.journal,
        verification.query,
        verification.count,
        verification.mode,
        verification.wait,
    )
    if not result.matched:
        log.info(
            "Verification failed: expected %s %d of %r, found %d",
            verification.mode,
            verification.count,
            verification.query,
            result.found,
        )
    return web.json_response(result.as_dict(), status=200 if result.matched else 422)


async def _not_found(request: web.Request) -> web.Response:
    if not _has_token(session_of(request), request):
        return _unauthorized(request)
    return control_error(
        404,
        f"No control resource at {request.path}; "
        f"{CONTROL_PREFIX}/openapi.json lists them.",
    )


def _openapi_handler(document: bytes) -> ControlHandler:
    async def openapi(request: web.Request, session: Session) -> web.Response:
        return web.Response(body=document, content_type="application/json")

    return openapi


def add_control_routes(app: web.Application) -> None:
    """Add the control API's routes."""
    document = OPENAPI_FILE.read_bytes()
    routes: dict[str, Route] = {
        "/health/live": control_resource({"GET": _live}, public=True),
        "/health/ready": control_resource({"GET": _ready}, public=True),
        "/state": control_resource({"GET": _get_state, "PUT": _put_state}),
        "/reset": control_resource({"POST": _reset}),
        "/journal": control_resource({"GET": _get_journal, "DELETE": _clear_journal}),
        "/verify": control_resource({"POST": _verify}),
        "/openapi.json": control_resource({"GET": _openapi_handler(document)}),
        "/{tail:.*}": _not_found,
    }
    for path, route in routes.items():
        app.router.add_route("*", CONTROL_PREFIX + path, route)

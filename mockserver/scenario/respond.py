"""Carrying out fault actions on HTTP requests: the responses a fired rule sends.

Handlers of every role call ``inject_fault`` once, near the top:

    response = await inject_fault(session, "config.get", request)
    if response is not None:
        return response

A role that needs a response of its own (the wizard's cancel) calls ``fire_fault``
and then ``apply_fault`` for the common responses.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from ..apierrors import ApiError, render_api_errors
from ..auth import wants_json
from .rules import FiredFault, RequestView

if TYPE_CHECKING:
    from ..session import Session

__all__ = [
    "FAULT_HEADER",
    "FIRED_FAULT",
    "apply_fault",
    "fault_error",
    "fire_fault",
    "inject_fault",
    "view_of",
]

log = logging.getLogger("mockserver.faults")

# Response header naming the rule behind a scripted response, so a client's logs
# show which fault it met.
FAULT_HEADER = "X-Mock-Fault"

# Request key under which the fault that fired on a request is kept, for the journal.
FIRED_FAULT = web.RequestKey("fired_fault", FiredFault)

_XML_TYPE = "application/xml"
_JSON_TYPE = "application/json"
# Bodies cut off in the middle of a value, as a connection closed mid-write leaves them.
_MALFORMED_XML = b"<contextServiceRegistration><state>regist"
_MALFORMED_JSON = b'{"state": "regist'


def view_of(request: web.Request, body: bytes | None = None) -> RequestView:
    """Return what fault rules see of ``request``; ``body`` is the body already read."""
    return RequestView(
        request.method, request.path, request.headers, request.query, body
    )


async def inject_fault(
    session: Session, target: str, request: web.Request, *, body: bytes | None = None
) -> web.StreamResponse | None:
    """Fire the rules of ``target`` for ``request`` and carry out the one that fires.

    Returns the response to send, or None when the handler goes on normally (no rule
    fired, or the action only delays, invalidates or opens a busy window).
    """
    fired = fire_fault(session, target, request, body=body)
    if fired is None:
        return None
    return await apply_fault(fired, request, session)


def fire_fault(
    session: Session, target: str, request: web.Request, *, body: bytes | None = None
) -> FiredFault | None:
    """Fire the rules of ``target`` for ``request``; keep the fault on the request."""
    faults = session.faults
    # Most requests meet no rule, and this check spares them building a view.
    if not faults.watches(target):
        return None
    fired = faults.fire(target, view_of(request, body))
    if fired is not None:
        request[FIRED_FAULT] = fired
    return fired


async def apply_fault(
    fired: FiredFault, request: web.Request, session: Session
) -> web.StreamResponse | None:
    """Carry out a fired fault: side effects first, then its response.

    Returns None for actions without a response, and for ``cancel``, which the wizard
    role carries out itself.
    """
    as_json = wants_json(request)
    if fired.in_busy_window:
        return _busy_response(fired, as_json)

    action = fired.action
    if action.delay:
        await session.devices.delay(action.delay)
    if action.invalidate:
        session.store.invalidate()

    response = action.response
    if response == "busy":
        return _busy_response(fired, as_json) if fired.target == "config.put" else None
    if response == "status":
        assert action.status is not None
        return _errors_response(fired, action.status, as_json)
    if response == "empty":
        return _with_header(
            web.Response(
                status=action.status or 200, body=b"", content_type=_type(as_json)
            ),
            fired,
        )
    if response == "malformed":
        body = _MALFORMED_JSON if as_json else _MALFORMED_XML
        return _with_header(
            web.Response(
                status=action.status or 200, body=body, content_type=_type(as_json)
            ),
            fired,
        )
    if response == "timeout":
        assert action.timeout is not None
        await session.devices.delay(action.timeout)
        return _drop(request, fired)
    if response in ("drop", "unreachable"):
        return _drop(request, fired)
    return None


def fault_error(fired: FiredFault, status: int) -> ApiError:
    """Return the apiError of a status response: the rule's errorType and message.

    Absent ones come from the error table: 503 gets the busy error, 500 on a
    database write the database failure, anything else the scripted-fault error.
    """
    action = fired.action
    if status == 503:
        default = ApiError.of("busy")
    elif fired.target == "database.write" and status == 500:
        default = ApiError.of("database_failure")
    else:
        default = ApiError.of("scripted_fault", index=fired.rule.index, status=status)
    return ApiError(
        action.error_type or default.error_type,
        action.message or default.error_message,
    )


def _errors_response(fired: FiredFault, status: int, as_json: bool) -> web.Response:
    headers = {"Retry-After": "1"} if status == 503 else {}
    response = web.Response(
        status=status,
        text=render_api_errors([fault_error(fired, status)], as_json=as_json),
        content_type=_type(as_json),
        charset="utf-8",
        headers=headers,
    )
    return _with_header(response, fired)


def _busy_response(fired: FiredFault, as_json: bool) -> web.Response:
    response = web.Response(
        status=503,
        text=render_api_errors([ApiError.of("busy")], as_json=as_json),
        content_type=_type(as_json),
        charset="utf-8",
        headers={"Retry-After": str(fired.retry_after or 1)},
    )
    return _with_header(response, fired)


def _drop(request: web.Request, fired: FiredFault) -> web.Response:
    """Abort the connection; the returned response is never sent.

    aiohttp's access log still lists the request, with this response's status 500.
    """
    transport = request.transport
    if transport is not None:
        transport.abort()
    log.info("Dropped the connection of %s %s", request.method, request.path_qs)
    return _with_header(web.Response(status=500), fired)


def _with_header(response: web.Response, fired: FiredFault) -> web.Response:
    response.headers[FAULT_HEADER] = f"rule {fired.rule.index} ({fired.target})"
    return response


def _type(as_json: bool) -> str:
    return _JSON_TYPE if as_json else _XML_TYPE

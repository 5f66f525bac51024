"""The Context Service cloud role: the registration wizard, deregistration, management.

The wizard shares nothing with the configuration API but connectionData tokens: it
mints and revokes them through the session's token authority, and reads the stored
registration only to learn which token to show or revoke.

Every form posts back a ``state`` field sealed with the session's secret. It carries
the callbackUrl that was validated when the wizard started, so a form post can only
ever redirect to that URL.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from .callbackurl import InvalidCallbackUrl, add_query_parameter, check_callback_url
from .connectiondata import ORGANIZATIONS, ConnectionDataToken, find_organization
from .pages import add_page_loading, asset_handler, page_response, page_route
from .scenario import apply_fault, fire_fault
from .session import SESSION, Session, session_of

__all__ = [
    "AUTHORIZE_PATH",
    "MANAGEMENT_PATH",
    "UNAUTHORIZE_PATH",
    "add_wizard_routes",
    "redirect_response",
]

log = logging.getLogger("mockserver.wizard")

AUTHORIZE_PATH = "/v1/authorize"
UNAUTHORIZE_PATH = "/v1/unauthorize"
MANAGEMENT_PATH = "/management"
STYLESHEET_PATH = "/v1/wizard.css"

_STATE_PURPOSE = "wizardForm"
_MAX_USER_CHARS = 128
# The appType goes into the token, so it is kept short and plain.
_APP_TYPE = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Steps of the registration wizard, in order.
_SIGN_IN = "signIn"
_ORGANIZATION = "organization"
_CONFIRM = "confirm"
_STEP_TEMPLATES = {
    _SIGN_IN: "authorize_sign_in.html",
    _ORGANIZATION: "authorize_organization.html",
    _CONFIRM: "authorize_confirm.html",
}


def redirect_response(location: str) -> web.Response:
    """Build a 303 See Other response with ``location`` byte for byte as Location."""
    # web.HTTPSeeOther would pass the URL through yarl, which may re-encode it.
    return web.Response(
        status=303,
        headers={
            "Location": location,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


async def _authorize(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    try:
        callback_url = check_callback_url(_last_query_value(request, "callbackUrl"))
    except InvalidCallbackUrl as exc:
        return _invalid_callback_page(request, exc)

    fault = await _wizard_fault(request, session, "wizard.authorize", callback_url)
    if fault is not None:
        return fault

    app_type = _last_query_value(request, "appType") or "custom"
    if not _APP_TYPE.fullmatch(app_type):
        message = (
            f"The appType {app_type!r} is invalid; use custom, or up to 32 letters, "
            "digits, '-' or '_'."
        )
        return _bad_request_page(request, "Invalid appType", message)
    if session.settings.wizard_mode == "auto":
        token = session.tokens.mint(app_type=app_type)
        return _return_with_token(callback_url, token.value)
    flow = {
        "flow": "authorize",
        "callbackUrl": callback_url,
        "appType": app_type,
        "step": _SIGN_IN,
    }
    return _step_page(request, session, flow)


async def _authorize_form(request: web.Request) -> web.Response:
    session = session_of(request)
    flow, form = await _read_form(request, session, "authorize")
    if flow is None:
        return _invalid_state_page(request)
    if form.get("action") == "cancel":
        return _cancel(flow)

    step = _AUTHORIZE_STEPS.get(flow.get("step", ""))
    if step is None:
        return _invalid_state_page(request)
    return step(request, session, flow, form)


def _after_sign_in(
    request: web.Request, session: Session, flow: dict[str, Any], form: dict[str, str]
) -> web.Response:
    user = form.get("user", "").strip()
    problem = _check_user(user)
    if problem:
        return _step_page(request, session, flow, error=problem, user=user)
    return _step_page(request, session, {**flow, "user": user, "step": _ORGANIZATION})


def _after_organization(
    request: web.Request, session: Session, flow: dict[str, Any], form: dict[str, str]
) -> web.Response:
    organization = find_organization(form.get("organization", ""))
    if organization is None:
        error = "Choose one of the organizations listed."
        return _step_page(request, session, flow, error=error)
    confirmed = {**flow, "organizationId": organization.id, "step": _CONFIRM}
    return _step_page(request, session, confirmed)


def _after_confirm(
    request: web.Request, session: Session, flow: dict[str, Any], form: dict[str, str]
) -> web.Response:
    organization = find_organization(flow.get("organizationId", ""))
    if organization is None:
        return _invalid_state_page(request)
    token = session.tokens.mint(
        organization=organization, issued_to=flow["user"], app_type=flow["appType"]
    )
    return _return_with_token(flow["callbackUrl"], token.value)


_AUTHORIZE_STEPS = {
    _SIGN_IN: _after_sign_in,
    _ORGANIZATION: _after_organization,
    _CONFIRM: _after_confirm,
}


async def _unauthorize(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    try:
        callback_url = check_callback_url(_last_query_value(request, "callbackUrl"))
    except InvalidCallbackUrl as exc:
        return _invalid_callback_page(request, exc)

    fault = await _wizard_fault(request, session, "wizard.unauthorize", callback_url)
    if fault is not None:
        return fault

    # Cisco's SDK passes the connectionData to revoke. Without it, the token of the
    # stored registration is revoked.
    value = _last_query_value(request, "connectionData")
    if value is None:
        value = session.store.current.connection_data
    if session.settings.wizard_mode == "auto":
        _revoke(session, value)
        return _return_with_token(callback_url, "")
    flow = {"flow": "unauthorize", "callbackUrl": callback_url, "connectionData": value}
    return page_response(
        request,
        "unauthorize.html",
        title="Deregister from Context Service",
        error=None,
        callback_url=callback_url,
        token=_token_of(session, value),
        has_data=bool(value),
        state=_seal(session, flow),
    )


async def _unauthorize_form(request: web.Request) -> web.Response:
    session = session_of(request)
    flow, form = await _read_form(request, session, "unauthorize")
    if flow is None:
        return _invalid_state_page(request)
    if form.get("action") == "cancel":
        return _cancel(flow)

    _revoke(session, flow.get("connectionData", ""))
    return _return_with_token(flow["callbackUrl"], "")


async def _management(request: web.Request) -> web.Response:
    session = session_of(request)
    value = session.store.current.connection_data
    token = _token_of(session, value)
    is_live = token is not None and not session.tokens.is_revoked(token)
    flow = {"flow": "management", "connectionData": value}
    return page_response(
        request,
        "management.html",
        title="Context Service registration",
        error=None,
        state_name=session.store.state,
        token=token,
        is_live=is_live,
        has_data=bool(value),
        state=_seal(session, flow) if is_live else "",
    )


async def _management_form(request: web.Request) -> web.Response:
    session = session_of(request)
    flow, form = await _read_form(request, session, "management")
    if flow is None:
        return _invalid_state_page(request)

    if form.get("action") == "revoke":
        _revoke(session, flow.get("connectionData", ""))
    # Relative, so the browser stays on the origin it used, whatever the public URL.
    return redirect_response(MANAGEMENT_PATH)


def _step_page(
    request: web.Request,
    session: Session,
    flow: dict[str, Any],
    *,
    error: str | None = None,
    user: str | None = None,
) -> web.Response:
    organization = find_organization(flow.get("organizationId", ""))
    return page_response(
        request,
        _STEP_TEMPLATES[flow["step"]],
        status=400 if error else 200,
        title="Register with Context Service",
        error=error,
        callback_url=flow["callbackUrl"],
        app_type=flow["appType"],
        user=user if user is not None else flow.get("user", ""),
        organizations=ORGANIZATIONS,
        organization=organization,
        state=_seal(session, flow),
    )


async def _read_form(
    request: web.Request, session: Session, flow_name: str
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Return the unsealed flow state and the text fields of a posted form."""
    posted = await request.post()
    form = {key: value for key, value in posted.items() if isinstance(value, str)}
    flow = session.tokens.signer.unseal(_STATE_PURPOSE, form.get("state", ""))
    if flow is None or flow.get("flow") != flow_name:
        return None, form
    return flow, form


def _seal(session: Session, flow: dict[str, Any]) -> str:
    return session.tokens.signer.seal(_STATE_PURPOSE, flow)


def _check_user(user: str) -> str | None:
    if not user:
        return "Enter a user name; any name is accepted."
    if len(user) > _MAX_USER_CHARS:
        return f"The user name is longer than {_MAX_USER_CHARS} characters."
    return None


def _token_of(session: Session, value: str) -> ConnectionDataToken | None:
    return session.tokens.decode(value) if value else None


def _revoke(session: Session, value: str) -> None:
    if value and session.tokens.revoke(value) is None:
        log.info("Deregistration got connectionData that this session did not mint")


def _return_with_token(callback_url: str, value: str) -> web.Response:
    return redirect_response(add_query_parameter(callback_url, "connectionData", value))


async def _wizard_fault(
    request: web.Request, session: Session, target: str, callback_url: str
) -> web.StreamResponse | None:
    """Carry out a scenario rule for the wizard's first page, if one fires.

    A cancel returns to the callback URL as if the user had pressed Cancel. Every
    other action, such as an error status, a dropped connection or a delay, is
    carried out as the scenario sets it.
    """
    fired = fire_fault(session, target, request)
    if fired is None:
        return None
    if fired.action.cancel:
        return _cancel({"flow": target.split(".")[1], "callbackUrl": callback_url})
    return await apply_fault(fired, request, session)


def _cancel(flow: dict[str, Any]) -> web.Response:
    log.info("The user cancelled the %s wizard", flow["flow"])
    location = add_query_parameter(flow["callbackUrl"], "error", "access_denied")
    return redirect_response(location)


def _last_query_value(request: web.Request, name: str) -> str | None:
    # Repeated query parameters: the last value wins, as in the configuration API.
    values = request.query.getall(name, [])
    return values[-1] if values else None


def _invalid_callback_page(
    request: web.Request, error: InvalidCallbackUrl
) -> web.Response:
    message = f"The wizard cannot return to the caller because {error}."
    return _bad_request_page(request, "Invalid callback URL", message)


def _invalid_state_page(request: web.Request) -> web.Response:
    message = (
        "The form's state is missing or was altered. Start again from the "
        "registration or deregistration URL of the configuration API."
    )
    return _bad_request_page(request, "Invalid form", message)


def _bad_request_page(request: web.Request, title: str, message: str) -> web.Response:
    log.warning("Rejected %s %s: %s", request.method, request.path, message)
    return page_response(
        request, "error.html", status=400, title=title, error=None, message=message
    )


async def _log_wizard_settings(app: web.Application) -> None:
    settings = app[SESSION].settings
    log.info(
        "Wizard mode %s; connectionData %s; demo page at /demo/",
        settings.wizard_mode,
        "accepts any value" if settings.accept_any_connection_data else "is checked",
    )


def add_wizard_routes(app: web.Application) -> None:
    """Add the cloud role's pages, and the template environment they share."""
    add_page_loading(app)
    app.on_startup.append(_log_wizard_settings)
    router = app.router
    # In auto mode a GET mints or revokes a token, which a HEAD must never do.
    router.add_get(AUTHORIZE_PATH, page_route(_authorize), allow_head=False)
    router.add_post(AUTHORIZE_PATH, page_route(_authorize_form))
    router.add_get(UNAUTHORIZE_PATH, page_route(_unauthorize), allow_head=False)
    router.add_post(UNAUTHORIZE_PATH, page_route(_unauthorize_form))
    router.add_get(MANAGEMENT_PATH, page_route(_management))
    router.add_post(MANAGEMENT_PATH, page_route(_management_form))
    router.add_get(STYLESHEET_PATH, asset_handler("wizard.css"))

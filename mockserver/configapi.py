"""The configuration API role: SocialMiner / CCE's /unifiedconfig/config resources."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from .apierrors import SUCCESS_TEXT, ApiError, render_api_errors
from .auth import add_cors_headers, wants_json
from .contracts import BodyRejected, UpdateBody, decode_body
from .scenario import inject_fault
from .session import CONTRACT_WARNINGS, REJECTION_ERRORS, Session, session_of
from .views import (
    BASE_PATH,
    CONFIG_PATH,
    REGISTRATION_PATH,
    render_registration,
    render_service_config,
)

__all__ = ["add_config_routes", "api_errors_response"]

log = logging.getLogger("mockserver.configapi")


XML_TYPE = "application/xml"
JSON_TYPE = "application/json"
_XML_BODY_TYPES = ("application/xml", "text/xml")
_REGISTRATION_METHODS = "GET, HEAD, PUT, OPTIONS"
_CONFIG_METHODS = "GET, HEAD, OPTIONS"
_KNOWN_PATHS = (REGISTRATION_PATH, CONFIG_PATH)
_RENDER_CACHE_SIZE = 256

Handler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]


def api_errors_response(
    status: int,
    errors: list[ApiError] | tuple[ApiError, ...],
    *,
    as_json: bool = False,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Build a response with an apiErrors body."""
    return web.Response(
        status=status,
        text=render_api_errors(errors, as_json=as_json),
        content_type=JSON_TYPE if as_json else XML_TYPE,
        charset="utf-8",
        headers=headers,
    )


def _resource(methods: str, handlers: dict[str, Handler]) -> Handler:
    """Dispatch a resource's methods after authentication, handling OPTIONS and 405."""

    async def dispatch(request: web.Request, session: Session) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return web.Response(status=200, headers={"Allow": methods})
        if session.settings.auth:
            auth = session.auth
            if not auth.is_authorized(request.headers.get("Authorization")):
                return api_errors_response(
                    401,
                    [ApiError.of("unauthorized")],
                    as_json=wants_json(request),
                    headers={"WWW-Authenticate": auth.challenge},
                )
        handler = handlers.get(request.method)
        if handler is None:
            error = ApiError.of(
                "method_not_allowed", method=request.method, allowed=methods
            )
            return api_errors_response(
                405, [error], as_json=wants_json(request), headers={"Allow": methods}
            )
        return await handler(request, session)

    return dispatch


async def _get_registration(
    request: web.Request, session: Session
) -> web.StreamResponse:
    fault = await inject_fault(session, "config.get", request)
    if fault is not None:
        return fault

    callbacks = request.query.getall("callbackUrl", [])
    # Repeated query parameters: the last value wins, as on the real server.
    callback_url = callbacks[-1] if callbacks else None
    as_json = wants_json(request)
    if callback_url is not None and not _is_absolute_http_url(callback_url):
        error = ApiError.of("invalid_url", data="callbackUrl", field="callbackUrl")
        return api_errors_response(400, [error], as_json=as_json)

    store = session.store
    snapshot = store.current
    state = store.state_of(snapshot)
    key = (snapshot.version, state, callback_url, as_json)
    cache = session.render_cache
    body = cache.get(key)
    if body is None:
        body = render_registration(
            state,
            public_url=session.public_url,
            callback_url=callback_url,
            profile=session.settings.profile,
            as_json=as_json,
        ).encode()
        if len(cache) >= _RENDER_CACHE_SIZE:
            cache.clear()
        cache[key] = body
    return _body_response(body, as_json)


async def _get_service_config(request: web.Request, session: Session) -> web.Response:
    as_json = wants_json(request)
    text = render_service_config(
        session.service_config, profile=session.settings.profile, as_json=as_json
    )
    return _body_response(text.encode(), as_json)


async def _put_registration(
    request: web.Request, session: Session
) -> web.StreamResponse:
    as_json = wants_json(request)
    try:
        _check_content_type(request)
        raw = await _read_limited(request, session.settings.max_body_size)
    except BodyRejected as exc:
        _log_rejection(request, exc.status, exc.errors)
        return api_errors_response(exc.status, exc.errors, as_json=as_json)

    # Fault rules see the body, for XPath conditions, before any check of it.
    fault = await inject_fault(session, "config.put", request, body=raw)
    if fault is not None:
        return fault

    try:
        update = await _read_update(request, session, raw)
    except BodyRejected as exc:
        request[REJECTION_ERRORS] = tuple(exc.errors)
        _log_rejection(request, exc.status, exc.errors)
        return api_errors_response(exc.status, exc.errors, as_json=as_json)

    request[CONTRACT_WARNINGS] = update.warnings
    for warning in update.warnings:
        log.warning(
            "Contract warning on %s %s: %s", request.method, request.path, warning
        )

    outcome = await session.store.update(update.connection_data)
    if outcome.status == 200:
        return web.Response(text=SUCCESS_TEXT, content_type="text/plain")
    if outcome.status == 400:
        request[REJECTION_ERRORS] = outcome.errors
        _log_rejection(request, outcome.status, outcome.errors)
    headers = {"Retry-After": "1"} if outcome.status == 503 else None
    return api_errors_response(
        outcome.status, outcome.errors, as_json=as_json, headers=headers
    )


def _check_content_type(request: web.Request) -> None:
    """Raise BodyRejected with 415 unless the body is XML or JSON."""
    content_type = request.content_type
    if content_type != JSON_TYPE and content_type not in _XML_BODY_TYPES:
        shown = request.headers.get("Content-Type", "(none)")
        raise BodyRejected(
            415, [ApiError.of("unsupported_media_type", content_type=repr(shown))]
        )


async def _read_update(
    request: web.Request, session: Session, raw: bytes
) -> UpdateBody:
    """Parse and validate a body whose content type and size passed."""
    text = decode_body(raw, request.charset)
    contracts = await session.contracts.get()
    if request.content_type == JSON_TYPE:
        return contracts.parse_update_json(text)
    return contracts.parse_update_xml(text)


async def _read_limited(request: web.Request, limit: int) -> bytes:
    """Read the body, rejecting it with 413 as soon as it passes ``limit`` bytes."""
    too_large = BodyRejected(413, [ApiError.of("body_too_large", max=limit)])
    length = request.content_length
    if length is not None and length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _log_rejection(
    request: web.Request, status: int, errors: list[ApiError] | tuple[ApiError, ...]
) -> None:
    for error in errors:
        log.warning(
            "Rejected %s %s with %d %s: %s",
            request.method,
            request.path,
            status,
            error.error_type,
            error.error_message,
        )


def _is_absolute_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


_XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}
_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def _body_response(body: bytes, as_json: bool) -> web.Response:
    # A ready Content-Type header skips aiohttp's per-response header building.
    return web.Response(body=body, headers=_JSON_HEADERS if as_json else _XML_HEADERS)


async def _not_found(request: web.Request, session: Session) -> web.Response:
    # A client that cannot set a query string, such as Cisco's Java toolkit on a
    # single GET, sends "?callbackUrl=" percent-encoded inside the path.
    kind = "query_in_path" if "?" in request.path else "not_found"
    error = ApiError.of(
        kind, data=request.path, path=request.path, known=", ".join(_KNOWN_PATHS)
    )
    log.warning("Unknown path %s %s", request.method, request.path)
    return api_errors_response(404, [error], as_json=wants_json(request))


_registration = _resource(
    _REGISTRATION_METHODS,
    {"GET": _get_registration, "HEAD": _get_registration, "PUT": _put_registration},
)
_service_config = _resource(
    _CONFIG_METHODS, {"GET": _get_service_config, "HEAD": _get_service_config}
)


def _route(
    handler: Handler, methods: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def route(request: web.Request) -> web.StreamResponse:
        session = session_of(request)
        response = await handler(request, session)
        if session.settings.cors:
            add_cors_headers(request, response, methods)
        return response

    return route


async def _unknown(request: web.Request, session: Session) -> web.StreamResponse:
    if request.method == "OPTIONS":
        return await _not_found(request, session)
    return await _resource("", {request.method: _not_found})(request, session)


def add_config_routes(app: web.Application, session: Session) -> None:
    """Add the configuration API's routes and its authenticator to ``app``."""
    router = app.router
    router.add_route(
        "*", REGISTRATION_PATH, _route(_registration, _REGISTRATION_METHODS)
    )
    router.add_route("*", CONFIG_PATH, _route(_service_config, _CONFIG_METHODS))
    unknown = _route(_unknown, _REGISTRATION_METHODS)
    router.add_route("*", BASE_PATH, unknown)
    router.add_route("*", BASE_PATH + "/{tail:.*}", unknown)

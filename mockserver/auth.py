"""HTTP Basic authentication, content negotiation and CORS for the configuration API."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable

from aiohttp import web

__all__ = ["BasicAuth", "add_cors_headers", "wants_json"]

_JSON_TYPES = ("application/json",)
_XML_TYPES = ("application/xml", "text/xml")
# Parsed Accept headers; clients send few distinct values, and the bound keeps a
# client that varies them from growing it.
_accept_cache: dict[tuple[str, str], bool] = {}
_ACCEPT_CACHE_SIZE = 256


class BasicAuth:
    """Check HTTP Basic credentials against the configured users."""

    def __init__(self, users: Iterable[tuple[str, str]], realm: str = "mockserver"):
        self._users = dict(users)
        self._accepted = {
            "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode("ascii")
            for name, password in self._users.items()
        }
        self.challenge = f'Basic realm="{realm}", charset="UTF-8"'

    def is_authorized(self, header: str | None) -> bool:
        """Tell whether an Authorization header names a user with the right password."""
        if header is None:
            return False
        if header in self._accepted:
            return True
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        name, _, password = decoded.partition(":")
        expected = self._users.get(name)
        return expected is not None and hmac.compare_digest(
            expected.encode(), password.encode()
        )


def wants_json(request: web.Request) -> bool:
    """Tell whether the client prefers JSON to XML.

    XML wins unless the Accept header ranks application/json above every XML type
    and above any wildcard, so ``*/*`` and browser-style lists get XML. A request
    with no Accept preference but a JSON body gets JSON.
    """
    accept = request.headers.get("Accept", "")
    content_type = request.headers.get("Content-Type", "")
    key = (accept, content_type)
    cached = _accept_cache.get(key)
    if cached is None:
        cached = _prefers_json(accept, content_type)
        if len(_accept_cache) >= _ACCEPT_CACHE_SIZE:
            _accept_cache.clear()
        _accept_cache[key] = cached
    return cached


def _prefers_json(accept: str, content_type: str) -> bool:
    json_q = xml_q = wildcard_q = 0.0
    for item in accept.split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        media_type = media_type.lower()
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_type in _JSON_TYPES:
            json_q = max(json_q, quality)
        elif media_type in _XML_TYPES:
            xml_q = max(xml_q, quality)
        elif media_type in ("*/*", "*", "application/*"):
            wildcard_q = max(wildcard_q, quality)
    if json_q > 0:
        return json_q > xml_q and json_q >= wildcard_q
    has_preference = xml_q > 0
    body_is_json = content_type.split(";")[0].strip().lower() in _JSON_TYPES
    return body_is_json and not has_preference


def add_cors_headers(
    request: web.Request, response: web.StreamResponse, methods: str
) -> None:
    """Add the CORS headers a browser needs, echoing the request's Origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Credentials"] = "true"
    headers["Access-Control-Expose-Headers"] = "Retry-After, WWW-Authenticate"
    headers.add("Vary", "Origin")
    if (
        request.method == "OPTIONS"
        and "Access-Control-Request-Method" in request.headers
    ):
        headers["Access-Control-Allow-Methods"] = methods
        requested = request.headers.get("Access-Control-Request-Headers")
        headers["Access-Control-Allow-Headers"] = (
            requested or "Authorization, Content-Type, Accept"
        )
        headers["Access-Control-Max-Age"] = "600"

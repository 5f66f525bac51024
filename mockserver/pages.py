"""HTML pages: Jinja2 templates with autoescaping, and the headers every page gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web

__all__ = ["PAGES", "Pages", "asset_handler", "page_response"]

# Pages load styles and scripts from their own origin only, and no page may be
# framed, so echoed markup could neither run nor be overlaid even if it escaped.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    # A callback URL carries connectionData in its query; keep it out of Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
Handler = Callable[[web.Request], Awaitable[web.Response]]
_ASSET_TYPES = {".css": "text/css", ".js": "text/javascript"}


class Pages:
    """The template environment of the package's ``templates/`` folder."""

    def __init__(self) -> None:
        self._environment = jinja2.Environment(
            loader=jinja2.PackageLoader("mockserver", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # Compile every template now, so no request reads a file on the event loop.
        for name in self._environment.list_templates(extensions=["html"]):
            self._environment.get_template(name)

    def render(self, template: str, **context: Any) -> str:
        """Render ``template`` with every value HTML-escaped."""
        return self._environment.get_template(template).render(**context)


PAGES = web.AppKey("pages", Pages)


def page_response(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """Render ``template`` into an HTML response with the pages' security headers."""
    text = request.app[PAGES].render(template, **context)
    return web.Response(
        status=status,
        text=text,
        content_type="text/html",
        charset="utf-8",
        headers=_PAGE_HEADERS,
    )


def asset_handler(name: str) -> Handler:
    """Read ``static/{name}`` of the package now and return a handler that serves it."""
    suffix = name[name.rfind(".") :]
    body = resources.files("mockserver").joinpath("static", name).read_bytes()
    content_type = _ASSET_TYPES[suffix]

    async def serve_asset(request: web.Request) -> web.Response:
        return web.Response(
            body=body,
            content_type=content_type,
            charset="utf-8",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    return serve_asset

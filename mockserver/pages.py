"""HTML pages: Jinja2 templates with autoescaping, and the headers every page gets.

Jinja2 and the compiled templates load in a worker thread once the server starts, so
they do not delay the configuration API's first response; page handlers wait for
them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "PAGES",
    "Pages",
    "add_page_loading",
    "asset_handler",
    "page_response",
    "page_route",
]

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
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_ASSET_TYPES = {".css": "text/css", ".js": "text/javascript"}


class Pages:
    """The template environment of the package's ``templates/`` folder."""

    def __init__(self) -> None:
        self._environment: jinja2.Environment | None = None
        self._loading: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Start loading in a worker thread, unless that has already begun."""
        if self._loading is None:
            loop = asyncio.get_running_loop()
            self._loading = loop.run_in_executor(None, self._load)

    async def ready(self) -> None:
        """Wait until the templates are compiled."""
        self.start()
        assert self._loading is not None
        await asyncio.shield(self._loading)

    def _load(self) -> None:
        import jinja2

        environment = jinja2.Environment(
            loader=jinja2.PackageLoader("mockserver", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # Compile every template here, so no request reads a file on the event loop.
        for name in environment.list_templates(extensions=["html"]):
            environment.get_template(name)
        self._environment = environment

    def render(self, template: str, **context: Any) -> str:
        """Render ``template`` with every value HTML-escaped.

        Raises RuntimeError before the templates are loaded; ``page_route`` waits
        for them.
        """
        if self._environment is None:
            raise RuntimeError("the page templates are not loaded yet")
        return self._environment.get_template(template).render(**context)


PAGES = web.AppKey("pages", Pages)


def add_page_loading(app: web.Application) -> None:
    """Give ``app`` a template environment that loads once the server starts."""
    if PAGES in app:
        return
    app[PAGES] = Pages()

    async def start_loading(app: web.Application) -> None:
        app[PAGES].start()

    app.on_startup.append(start_loading)


def page_route(handler: Handler) -> Handler:
    """Wrap a page handler so it runs once the templates are loaded."""

    async def route(request: web.Request) -> web.StreamResponse:
        await request.app[PAGES].ready()
        return await handler(request)

    return route


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

"""The custom Context Service page of Cisco's sample registration workflow, at /demo/.

The page runs in the browser and calls the configuration API from the same origin, as
a customer's own admin page would. It reads the state and sends the user to the wizard
with a callback URL that points back at ``/demo/callback``. There it stores the
returned connectionData with the update API.
"""

from __future__ import annotations

from aiohttp import web

from .pages import add_page_loading, asset_handler, page_response, page_route
from .views import REGISTRATION_PATH

__all__ = ["DEMO_CALLBACK_PATH", "DEMO_PATH", "add_demo_routes"]

DEMO_PATH = "/demo/"
DEMO_CALLBACK_PATH = "/demo/callback"


async def _demo_page(request: web.Request) -> web.Response:
    return _render(request, "start")


async def _demo_callback_page(request: web.Request) -> web.Response:
    # The page reads connectionData from its own URL in the browser; the server
    # echoes no query value into it.
    return _render(request, "callback")


def _render(request: web.Request, page: str) -> web.Response:
    return page_response(
        request,
        "demo.html",
        title="Context Service registration",
        error=None,
        page=page,
        registration_path=REGISTRATION_PATH,
        callback_path=DEMO_CALLBACK_PATH,
    )


async def _redirect_to_demo(request: web.Request) -> web.Response:
    return web.Response(status=301, headers={"Location": DEMO_PATH})


def add_demo_routes(app: web.Application) -> None:
    """Add the demo page, its callback page and their assets to ``app``."""
    add_page_loading(app)
    router = app.router
    router.add_get("/demo", _redirect_to_demo)
    router.add_get(DEMO_PATH, page_route(_demo_page))
    router.add_get(DEMO_CALLBACK_PATH, page_route(_demo_callback_page))
    router.add_get("/demo/demo.js", asset_handler("demo.js"))
    router.add_get("/demo/demo.css", asset_handler("demo.css"))

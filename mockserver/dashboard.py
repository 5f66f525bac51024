"""The live dashboard at /_mock/ui: a read-only page for a developer.

The page contains no data. Its script polls the control API's JSON resources from the
same origin every second and shows the registration, the active scenario, the
devices and the newest journal entries. The page and its assets are public even
with a control token, and the script sends the token, which the user types into
the page, with each JSON call. Like every /_mock/ request, the page is not recorded in
the journal.
"""

from __future__ import annotations

from aiohttp import web

from .admin import CONTROL_PREFIX, ControlHandler, control_resource
from .devices import DEVICES_STATE_PATH
from .pages import add_page_loading, asset_handler, page_response, page_route
from .session import Session

__all__ = ["DASHBOARD_PATH", "add_dashboard_routes"]

DASHBOARD_PATH = f"{CONTROL_PREFIX}/ui"
_JOURNAL_LIMIT = 20


async def _dashboard_page(request: web.Request) -> web.Response:
    return page_response(
        request,
        "dashboard.html",
        title="mockserver dashboard",
        state_path=f"{CONTROL_PREFIX}/state",
        scenario_path=f"{CONTROL_PREFIX}/scenario",
        devices_path=DEVICES_STATE_PATH,
        journal_path=f"{CONTROL_PREFIX}/journal?limit={_JOURNAL_LIMIT}",
    )


_serve_page = page_route(_dashboard_page)


async def _get_page(request: web.Request, session: Session) -> web.StreamResponse:
    return await _serve_page(request)


def _asset_route(name: str) -> ControlHandler:
    serve = asset_handler(name)

    async def get_asset(request: web.Request, session: Session) -> web.StreamResponse:
        return await serve(request)

    return get_asset


def add_dashboard_routes(app: web.Application) -> None:
    """Add the dashboard page and its assets to ``app``.

    Call it before ``add_control_routes``, so these routes come before its
    ``/_mock/{tail}`` catch-all in the router.
    """
    add_page_loading(app)
    routes = {
        DASHBOARD_PATH: _get_page,
        f"{DASHBOARD_PATH}/dashboard.js": _asset_route("dashboard.js"),
        f"{DASHBOARD_PATH}/dashboard.css": _asset_route("dashboard.css"),
    }
    for path, handler in routes.items():
        # control_resource adds HEAD and the control API's JSON 405 for other methods.
        app.router.add_route("*", path, control_resource({"GET": handler}, public=True))

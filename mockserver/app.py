"""Build the aiohttp application and run the server."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket

from aiohttp import web

from . import __version__
from .configapi import add_config_routes
from .demo import add_demo_routes
from .session import SESSION, Session, build_session
from .settings import DEFAULT_PASSWORD, Settings
from .tokenapi import add_token_routes
from .wizard import add_wizard_routes

__all__ = ["build_app", "run_server"]

log = logging.getLogger("mockserver")


def build_app(settings: Settings, session: Session | None = None) -> web.Application:
    """Build the application that plays every role for one session."""
    session = session or build_session(settings)
    app = web.Application()
    app[SESSION] = session
    add_config_routes(app, session)
    add_wizard_routes(app)
    add_demo_routes(app)
    add_token_routes(app)
    app.on_startup.append(_start_contracts)
    return app


async def _start_contracts(app: web.Application) -> None:
    app[SESSION].contracts.start()


async def run_server(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly."""
    session = build_session(settings)
    app = build_app(settings, session)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
        await site.start()
        port = _bound_port(runner, settings.port)
        if settings.public_url is None and port != settings.port:
            session.public_url = settings.base_url.rsplit(":", 1)[0] + f":{port}"
        _log_startup(settings, session, port)
        await _wait_for_stop_signal()
        log.info("Stopping")
    finally:
        await runner.cleanup()
    log.info("Stopped")


def _bound_port(runner: web.AppRunner, default: int) -> int:
    for server in runner.sites:
        sockets = getattr(getattr(server, "_server", None), "sockets", None) or []
        for sock in sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                return int(sock.getsockname()[1])
    return default


async def _wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _log_startup(settings: Settings, session: Session, port: int) -> None:
    if not settings.auth:
        auth = "authentication off"
    elif settings.is_default_user:
        auth = (
            f"Basic authentication on, default user {settings.users[0][0]} "
            f"with password {DEFAULT_PASSWORD!r} (set --user to change)"
        )
    else:
        names = ", ".join(name for name, _ in settings.users)
        auth = f"Basic authentication on, users: {names}"
    log.info(
        "mockserver %s listening on http://%s:%d; public URL %s; profile %s; %s; "
        "CORS %s",
        __version__,
        settings.host,
        port,
        session.public_url,
        settings.profile,
        auth,
        "on" if settings.cors else "off",
    )

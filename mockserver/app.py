"""Build the aiohttp application and run the server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from . import __version__
from .admin import add_control_routes
from .configapi import add_config_routes
from .dashboard import add_dashboard_routes
from .demo import add_demo_routes
from .devices import add_device_routes
from .errors import SettingsError
from .recorder import runner_options
from .scenario.apply import switch_settings
from .scenario.watch import watch_scenario
from .scenarioapi import add_scenario_routes
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
    add_scenario_routes(app)
    add_dashboard_routes(app)
    add_control_routes(app)
    add_device_routes(app)
    app.on_startup.append(_start_contracts)
    return app


async def _start_contracts(app: web.Application) -> None:
    app[SESSION].contracts.start()


async def run_server(
    settings: Settings, *, overrides: Mapping[str, Any] | None = None
) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly.

    ``overrides`` are the settings given by flags or environment variables; with
    ``settings.watch`` they win again over each reloaded scenario.
    """
    session = build_session(settings)
    session.overrides = dict(overrides or {})
    app = build_app(settings, session)
    runner = web.AppRunner(app, handle_signals=False, **runner_options())
    # Signal handlers go in before the socket is bound, so a signal sent as soon as
    # the startup line appears still stops the server cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    watcher: asyncio.Task[None] | None = None
    try:
        await runner.setup()
        site = web.TCPSite(
            runner,
            settings.host,
            settings.port,
            reuse_address=True,
            ssl_context=_ssl_context(settings),
        )
        await site.start()
        port = _bound_port(runner, settings.port)
        if settings.public_url is None and port != settings.port:
            session.public_url = settings.base_url.rsplit(":", 1)[0] + f":{port}"
        session.internal_url = dataclasses.replace(settings, port=port).internal_url
        _log_startup(settings, session, port)
        watcher = _start_watcher(settings, session, overrides or {})
        await stop.wait()
        log.info("Stopping")
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await runner.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    log.info("Stopped")


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # Cisco's Java toolkit offers at most TLS 1.2, so 1.2 stays enabled.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except ssl.SSLError as exc:
        raise SettingsError(
            f"TLS certificate {settings.tls_cert!r} or key {settings.tls_key!r} "
            f"is invalid or they do not match: {exc.reason or exc.strerror or exc}"
        ) from exc
    return context


def _start_watcher(
    settings: Settings, session: Session, overrides: Mapping[str, Any]
) -> asyncio.Task[None] | None:
    source = settings.scenario.source
    if not settings.watch or source is None:
        return None
    return asyncio.create_task(
        watch_scenario(
            session,
            Path(source),
            lambda scenario: switch_settings(session.settings, scenario, overrides),
        )
    )


def _bound_port(runner: web.AppRunner, default: int) -> int:
    for server in runner.sites:
        sockets = getattr(getattr(server, "_server", None), "sockets", None) or []
        for sock in sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                return int(sock.getsockname()[1])
    return default


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
        "mockserver %s listening on %s://%s:%d; public URL %s; profile %s; %s; CORS %s",
        __version__,
        settings.scheme,
        settings.host,
        port,
        session.public_url,
        settings.profile,
        auth,
        "on" if settings.cors else "off",
    )
    for device in session.devices.configs:
        log.info(
            "Device %s (%s) at %s, timeout %g s",
            device.name,
            device.type,
            session.device_sync.url_of(device),
            device.timeout,
        )
    scenario = settings.scenario
    log.info(
        "Scenario %r from %s: registration %s, devices %s, %d fault rules",
        scenario.name,
        scenario.source or "(built in)",
        session.store.state,
        ", ".join(scenario.device_names) or "(none)",
        len(scenario.faults),
    )

"""The ``mockserver`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Mapping, Sequence

from . import __version__
from .app import run_server
from .errors import SettingsError
from .log import configure_logging
from .settings import (
    ENV_PREFIX,
    LOG_FORMATS,
    PROFILES,
    WIZARD_MODES,
    Settings,
    env_items,
    parse_bool,
    parse_users,
)

__all__ = ["build_parser", "main", "settings_from"]

log = logging.getLogger("mockserver")

# Exit status for invalid flags or environment variables, as argparse uses.
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="mockserver",
        description="Contract-testing mock of the Cisco Context Service registration.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the server",
        description="Run the server. Every flag can also be set with the "
        f"{ENV_PREFIX}* environment variable named after it; a flag wins.",
    )
    _add_serve_flags(serve)
    return parser


def _add_serve_flags(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", help="address to bind (MOCKSERVER_HOST; 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, help="TCP port, 0 for any free one (MOCKSERVER_PORT; 8080)"
    )
    serve.add_argument(
        "--public-url",
        help="base of the absolute URLs the mock returns, such as the port-mapped "
        "address of a container (MOCKSERVER_PUBLIC_URL; http://HOST:PORT)",
    )
    serve.add_argument(
        "--user",
        action="append",
        metavar="NAME:PASSWORD",
        help="a Basic-auth user; repeat for more (MOCKSERVER_USERS, separated by "
        "commas; default administrator@example.com:mockserver)",
    )
    serve.add_argument(
        "--no-auth",
        action="store_true",
        default=None,
        help="turn HTTP Basic authentication off (MOCKSERVER_NO_AUTH=true)",
    )
    serve.add_argument(
        "--profile",
        choices=PROFILES,
        help="response profile: documented follows Cisco's reference, observed "
        "what real servers return (MOCKSERVER_PROFILE; documented)",
    )
    serve.add_argument(
        "--cors",
        action="store_true",
        default=None,
        help="answer browser CORS requests from any origin (MOCKSERVER_CORS=true)",
    )
    serve.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="log level (MOCKSERVER_LOG_LEVEL; INFO)",
    )
    serve.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="log format, json for containers (MOCKSERVER_LOG_FORMAT; text)",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help="log every request at INFO (MOCKSERVER_ACCESS_LOG=true)",
    )
    serve.add_argument(
        "--max-body-size",
        type=int,
        metavar="BYTES",
        help="largest request body accepted (MOCKSERVER_MAX_BODY_SIZE; 65536)",
    )
    serve.add_argument(
        "--fail-database-writes",
        action="store_true",
        default=None,
        help="make every database write fail with 500 "
        "(MOCKSERVER_FAIL_DATABASE_WRITES=true)",
    )
    serve.add_argument(
        "--wizard-mode",
        choices=WIZARD_MODES,
        help="pages shows the registration wizard's pages, auto redirects back at "
        "once for clients that follow redirects (MOCKSERVER_WIZARD_MODE; pages)",
    )
    serve.add_argument(
        "--accept-any-connection-data",
        action="store_true",
        default=None,
        help="report every non-empty connectionData as registered instead of "
        "checking that it is a live token (MOCKSERVER_ACCEPT_ANY_CONNECTION_DATA=true)",
    )


def settings_from(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> Settings:
    """Combine flags, MOCKSERVER_* variables and defaults into Settings."""
    env = env_items(environ)
    values: dict[str, object] = {}

    def pick(name: str, env_key: str, convert: type | None = None) -> None:
        flag = getattr(args, name)
        if flag is not None:
            values[name] = flag
            return
        raw = env.get(ENV_PREFIX + env_key)
        if raw is None:
            return
        if convert is int:
            try:
                values[name] = int(raw)
            except ValueError:
                raise SettingsError(
                    f"{ENV_PREFIX}{env_key}={raw!r} is not an integer"
                ) from None
        elif convert is bool:
            values[name] = parse_bool(ENV_PREFIX + env_key, raw)
        else:
            values[name] = raw

    pick("host", "HOST")
    pick("port", "PORT", int)
    pick("public_url", "PUBLIC_URL")
    pick("profile", "PROFILE")
    pick("cors", "CORS", bool)
    pick("log_level", "LOG_LEVEL")
    pick("log_format", "LOG_FORMAT")
    pick("access_log", "ACCESS_LOG", bool)
    pick("max_body_size", "MAX_BODY_SIZE", int)
    pick("fail_database_writes", "FAIL_DATABASE_WRITES", bool)
    pick("wizard_mode", "WIZARD_MODE")
    pick("accept_any_connection_data", "ACCEPT_ANY_CONNECTION_DATA", bool)

    no_auth = args.no_auth
    if no_auth is None and ENV_PREFIX + "NO_AUTH" in env:
        no_auth = parse_bool(ENV_PREFIX + "NO_AUTH", env[ENV_PREFIX + "NO_AUTH"])
    if no_auth is not None:
        values["auth"] = not no_auth

    users = args.user
    if users is None and env.get(ENV_PREFIX + "USERS"):
        users = [
            item for item in re.split(r"[,\s]+", env[ENV_PREFIX + "USERS"]) if item
        ]
    if users:
        values["users"] = parse_users(users)
    return Settings(**values)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "serve":
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        settings = settings_from(args)
    except SettingsError as exc:
        parser.exit(EXIT_USAGE, f"mockserver: error: {exc}\n")
    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(run_server(settings))
    except OSError as exc:
        log.error(
            "Cannot listen on %s:%d: %s", settings.host, settings.port, exc.strerror
        )
        return 1
    return 0

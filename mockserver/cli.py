"""The ``mockserver`` command line."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import re
import sys
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from . import __version__
from .app import run_server
from .deviceconfig import (
    DEFAULT_DEVICE_TIMEOUT,
    DEFAULT_DEVICES,
    DEVICE_TYPES,
    DeviceAction,
    DeviceFault,
    parse_device,
    parse_device_delay,
    parse_device_status,
    parse_device_timeout,
)
from .errors import ScenarioError, SettingsError
from .log import configure_logging
from .scenario import DEFAULT_SCENARIO, bundled_scenarios, load_scenario
from .scenario.apply import settings_for
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

__all__ = ["build_parser", "main", "setting_values", "settings_from"]

log = logging.getLogger("mockserver")

# Exit status for invalid flags, environment variables or scenario, as argparse uses.
EXIT_USAGE = 2
# Exit status of `validate` when a file is invalid.
EXIT_INVALID = 1


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
    commands.add_parser(
        "scenarios",
        help="list the bundled scenarios",
        description="List the bundled scenarios with what a client should observe.",
    )
    validate = commands.add_parser(
        "validate",
        help="check scenario files",
        description="Check scenario files against the scenario format; exit 0 when "
        "all are valid, 1 otherwise, with one line per problem on stderr.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="scenario file")
    return parser


def _add_serve_flags(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        help="bundled scenario name or YAML file; other flags override its "
        f"settings (MOCKSERVER_SCENARIO; {DEFAULT_SCENARIO})",
    )
    serve.add_argument(
        "--watch",
        action="store_true",
        default=None,
        help="reload the scenario file when it changes; an invalid file is logged "
        "and the running scenario stays (MOCKSERVER_WATCH=true)",
    )
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
        help="allow browser CORS requests from any origin (MOCKSERVER_CORS=true)",
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
        "--tls-cert",
        metavar="FILE",
        help="PEM certificate chain; with --tls-key the server speaks HTTPS "
        "(MOCKSERVER_TLS_CERT)",
    )
    serve.add_argument(
        "--tls-key", metavar="FILE", help="PEM private key (MOCKSERVER_TLS_KEY)"
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
    serve.add_argument(
        "--journal-size",
        type=int,
        metavar="ENTRIES",
        help="maximum number of requests the journal keeps before it drops the oldest "
        "(MOCKSERVER_JOURNAL_SIZE; 1000)",
    )
    serve.add_argument(
        "--control-token",
        metavar="TOKEN",
        help="bearer token that every /_mock/ request except health must send "
        "(MOCKSERVER_CONTROL_TOKEN; no token)",
    )
    _add_device_flags(serve)


def _add_device_flags(serve: argparse.ArgumentParser) -> None:
    default_names = ", ".join(device.name for device in DEFAULT_DEVICES)
    serve.add_argument(
        "--device",
        action="append",
        metavar="NAME:TYPE[=URL]",
        help=f"a device the sync updates, of type {', '.join(DEVICE_TYPES)}; with "
        "=URL, the server at that base URL plays it; repeat for more "
        f"(MOCKSERVER_DEVICES, separated by commas; default {default_names})",
    )
    serve.add_argument(
        "--device-fail",
        action="append",
        metavar="NAME:STATUS",
        help="make a simulated device respond to every update with this HTTP status "
        "(MOCKSERVER_DEVICE_FAIL, separated by commas)",
    )
    serve.add_argument(
        "--device-delay",
        action="append",
        metavar="NAME:SECONDS",
        help="make a simulated device wait before it responds; longer than its "
        "timeout makes the sync time out (MOCKSERVER_DEVICE_DELAY, separated by "
        "commas)",
    )
    serve.add_argument(
        "--device-reset",
        action="append",
        metavar="NAME",
        help="make a simulated device reset the connection instead of responding "
        "(MOCKSERVER_DEVICE_RESET, separated by commas)",
    )
    serve.add_argument(
        "--device-timeout",
        action="append",
        metavar="[NAME:]SECONDS",
        help="seconds the sync waits for every device, or for device NAME "
        f"(MOCKSERVER_DEVICE_TIMEOUT, separated by commas; {DEFAULT_DEVICE_TIMEOUT:g})",
    )


def settings_from(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> Settings:
    """Combine flags, MOCKSERVER_* variables and defaults into Settings."""
    return Settings(**setting_values(args, environ))


def setting_values(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the Settings fields given by flags or MOCKSERVER_* variables."""
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
    pick("tls_cert", "TLS_CERT")
    pick("tls_key", "TLS_KEY")
    pick("journal_size", "JOURNAL_SIZE", int)
    pick("control_token", "CONTROL_TOKEN")
    pick("watch", "WATCH", bool)
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
    values.update(_device_settings(args, env))
    return values


def _list_setting(
    args: argparse.Namespace, env: Mapping[str, str], name: str, env_key: str
) -> list[str]:
    """Return a repeatable flag's values, or the comma-separated variable's items."""
    flag: list[str] | None = getattr(args, name)
    if flag is not None:
        return flag
    raw = env.get(ENV_PREFIX + env_key, "")
    return [item for item in re.split(r"[,\s]+", raw) if item]


def _device_settings(
    args: argparse.Namespace, env: Mapping[str, str]
) -> dict[str, object]:
    """Build the devices and device faults from the --device-* flags and variables."""
    values: dict[str, object] = {}
    specs = _list_setting(args, env, "device", "DEVICES")
    if specs:
        values["devices"] = tuple(parse_device(spec) for spec in specs)
    timeouts = _list_setting(args, env, "device_timeout", "DEVICE_TIMEOUT")
    if timeouts:
        values["device_timeouts"] = tuple(
            parse_device_timeout(text) for text in timeouts
        )

    actions: dict[str, DeviceAction] = {}

    def change(name: str, **fields: object) -> None:
        action = actions.get(name, DeviceAction())
        actions[name] = dataclasses.replace(action, **fields)  # type: ignore[arg-type]

    for text in _list_setting(args, env, "device_fail", "DEVICE_FAIL"):
        name, status = parse_device_status(text)
        change(name, status=status)
    for text in _list_setting(args, env, "device_delay", "DEVICE_DELAY"):
        name, delay = parse_device_delay(text)
        change(name, delay=delay)
    for name in _list_setting(args, env, "device_reset", "DEVICE_RESET"):
        change(name, reset=True)
    if actions:
        values["device_faults"] = tuple(
            DeviceFault(name, action) for name, action in actions.items()
        )
    return values


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "scenarios":
        return _list_scenarios()
    if args.command == "validate":
        return _validate(args.files)
    if args.command != "serve":
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return _serve(parser, args)


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    reference = args.scenario or env_items().get(
        ENV_PREFIX + "SCENARIO", DEFAULT_SCENARIO
    )
    try:
        scenario = load_scenario(reference)
    except ScenarioError as exc:
        sys.stderr.write("".join(f"{line}\n" for line in exc.lines))
        parser.exit(
            EXIT_USAGE, f"mockserver: error: scenario {reference!r} is invalid\n"
        )
    try:
        overrides = setting_values(args)
        settings = settings_for(scenario, overrides)
    except SettingsError as exc:
        parser.exit(EXIT_USAGE, f"mockserver: error: {exc}\n")
    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(run_server(settings, overrides=overrides))
    except SettingsError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    except OSError as exc:
        log.error(
            "Cannot listen on %s:%d: %s", settings.host, settings.port, exc.strerror
        )
        return 1
    return 0


def _list_scenarios() -> int:
    for path in bundled_scenarios():
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            sys.stderr.write("".join(f"{line}\n" for line in exc.lines))
            return EXIT_INVALID
        description = textwrap.fill(
            scenario.description or "(no description)",
            width=88,
            initial_indent="    ",
            subsequent_indent="    ",
        )
        sys.stdout.write(f"{scenario.name}\n{description}\n")
    return 0


def _validate(files: list[str]) -> int:
    status = 0
    for file in files:
        try:
            scenario = load_scenario(file)
        except ScenarioError as exc:
            sys.stderr.write("".join(f"{line}\n" for line in exc.lines))
            status = EXIT_INVALID
            continue
        sys.stdout.write(
            f"{file}: valid scenario {scenario.name!r} "
            f"({len(scenario.faults)} fault rules)\n"
        )
    return status

"""The command line: settings from flags and environment, and a real server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from aiohttp import ClientSession, encode_basic_auth

from mockserver.cli import build_parser, settings_from
from mockserver.errors import SettingsError
from mockserver.settings import Settings

REGISTRATION_PATH = "/unifiedconfig/config/contextserviceregistration"
STARTUP_TIMEOUT = 20.0


def parse(argv: list[str], environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from ``serve`` flags and an explicit environment."""
    args = build_parser().parse_args(["serve", *argv])
    return settings_from(args, environ or {})


def test_defaults() -> None:
    settings = parse([])

    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.auth is True
    assert settings.users == (("administrator@example.com", "mockserver"),)
    assert settings.profile == "documented"


def test_environment_sets_every_option() -> None:
    environ = {
        "MOCKSERVER_HOST": "127.0.0.2",
        "MOCKSERVER_PORT": "9000",
        "MOCKSERVER_PUBLIC_URL": "https://mock.example.com",
        "MOCKSERVER_USERS": "a@x.example:one, b@x.example:two",
        "MOCKSERVER_NO_AUTH": "true",
        "MOCKSERVER_PROFILE": "observed",
        "MOCKSERVER_CORS": "yes",
        "MOCKSERVER_LOG_LEVEL": "debug",
        "MOCKSERVER_LOG_FORMAT": "json",
        "MOCKSERVER_ACCESS_LOG": "1",
        "MOCKSERVER_MAX_BODY_SIZE": "4096",
        "MOCKSERVER_FAIL_DATABASE_WRITES": "on",
    }

    settings = parse([], environ)

    assert settings == Settings(
        host="127.0.0.2",
        port=9000,
        public_url="https://mock.example.com",
        users=(("a@x.example", "one"), ("b@x.example", "two")),
        auth=False,
        profile="observed",
        cors=True,
        log_level="debug",
        log_format="json",
        access_log=True,
        max_body_size=4096,
        fail_database_writes=True,
    )


def test_flags_win_over_environment() -> None:
    environ = {"MOCKSERVER_PORT": "9000", "MOCKSERVER_USERS": "a@x.example:one"}

    settings = parse(["--port", "9100", "--user", "b@x.example:two"], environ)

    assert settings.port == 9100
    assert settings.users == (("b@x.example", "two"),)


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (
            [],
            {"MOCKSERVER_PORT": "eighty"},
            "MOCKSERVER_PORT='eighty' is not an integer",
        ),
        (["--port", "70000"], {}, "port 70000 is out of range 0..65535"),
        ([], {"MOCKSERVER_CORS": "maybe"}, "MOCKSERVER_CORS='maybe' is not a boolean"),
        (["--user", "nopassword"], {}, "user 'nopassword' is invalid"),
        (["--public-url", "localhost:8080"], {}, "public URL 'localhost:8080' is not"),
        ([], {"MOCKSERVER_PROFILE": "strict"}, "profile 'strict' is unknown"),
        ([], {"MOCKSERVER_LOG_LEVEL": "loud"}, "log level 'loud' is unknown"),
        (["--max-body-size", "10"], {}, "max body size 10 is too small"),
    ],
    ids=[
        "port-text",
        "port-range",
        "bool",
        "user",
        "public-url",
        "profile",
        "log-level",
        "body-size",
    ],
)
def test_invalid_settings_are_rejected(
    argv: list[str], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        parse(argv, environ)

    assert str(caught.value).startswith(message)


def test_user_error_does_not_show_password() -> None:
    with pytest.raises(SettingsError) as caught:
        parse(["--user", ":secret-password"])

    assert "secret-password" not in str(caught.value)


def free_port() -> int:
    """Return a loopback port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    *argv: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start ``python -m mockserver serve`` with ``argv``, logging to stderr."""
    environ = {**os.environ, **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )


def wait_for_line(process: subprocess.Popen[str], text: str) -> str:
    """Read stderr lines until one contains ``text``; fail after STARTUP_TIMEOUT."""
    assert process.stderr is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if text in line:
            return line
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"server never logged {text!r}")


@pytest.fixture
def server_port() -> int:
    return free_port()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
async def test_serve_answers_and_stops_on_signal(
    server_port: int, signum: signal.Signals
) -> None:
    process = start_server("--port", str(server_port))
    try:
        summary = wait_for_line(process, "listening on")
        async with ClientSession() as client:
            response = await client.get(
                f"http://127.0.0.1:{server_port}{REGISTRATION_PATH}",
                headers={
                    "Authorization": encode_basic_auth(
                        "administrator@example.com", "mockserver"
                    )
                },
            )
            body = await response.text()
    finally:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=STARTUP_TIMEOUT)

    assert f"listening on http://127.0.0.1:{server_port}" in summary
    assert "default user administrator@example.com" in summary
    assert response.status == 200
    assert "<state>notRegistered</state>" in body
    assert process.returncode == 0
    assert "Stopped" in stderr
    assert "Traceback" not in stderr


async def test_serve_logs_json_and_hides_custom_passwords(server_port: int) -> None:
    process = start_server(
        "--port",
        str(server_port),
        env={
            "MOCKSERVER_LOG_FORMAT": "json",
            "MOCKSERVER_USERS": "ops@corp.example:hunter2-secret",
        },
    )
    try:
        line = wait_for_line(process, "listening on")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=STARTUP_TIMEOUT)

    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "mockserver"
    assert "users: ops@corp.example" in entry["message"]
    assert "hunter2-secret" not in line + stderr
    assert process.returncode == 0


def test_serve_with_invalid_setting_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--user", "x"],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "mockserver: error: user 'x' is invalid; write NAME:PASSWORD, "
        "for example administrator@example.com:secret"
    )


def test_serve_on_busy_port_exits_1() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]

        result = subprocess.run(
            [sys.executable, "-m", "mockserver", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=STARTUP_TIMEOUT,
            check=False,
        )

    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr


def test_command_without_subcommand_prints_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver"],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )

    assert result.returncode == 2
    assert "serve" in result.stderr

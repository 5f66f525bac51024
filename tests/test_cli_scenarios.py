"""The scenario commands: validate, scenarios, serve --scenario and serve --watch."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from conftest import ADMIN, REGISTRATION_PATH
from test_scenario_loader import BUNDLED

from mockserver.cli import build_parser, setting_values
from mockserver.scenario import load_scenario
from mockserver.scenario.apply import settings_for

DATA = Path(__file__).parent / "data" / "scenarios"
# Bound on every wait for the server process, in seconds.
PATIENCE = 15.0


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mockserver ARGS`` and return its exit status and output."""
    return subprocess.run(
        [sys.executable, "-m", "mockserver", *args],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )


def test_validate__all_valid() -> None:
    valid = [str(DATA / "two-line.yaml"), "busy-sync"]

    result = run_cli("validate", *valid)

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"{valid[0]}: valid scenario 'two-line' (0 fault rules)",
        "busy-sync: valid scenario 'busy-sync' (1 fault rules)",
    ]
    assert result.stderr == ""


def test_validate__one_invalid_exits_1() -> None:
    broken = str(DATA / "wrong-type.yaml")
    valid = str(DATA / "two-line.yaml")

    result = run_cli("validate", broken, valid)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{valid}: valid scenario 'two-line' (0 fault rules)"
    ]
    assert result.stderr.splitlines() == [
        f"{broken}:2:7: /seed: expected an integer, found string 'lots'",
        f"{broken}:4:9: /wizard/mode: expected one of 'pages', 'auto', found string"
        " 'page' (did you mean 'pages'?)",
        f"{broken}:7:10: /faults/0/nth: expected an integer, found string '2'",
        f"{broken}:9:14: /faults/0/action/delay: expected a number > 0, found"
        " integer -1",
    ]


def test_scenarios__lists_bundled_with_descriptions() -> None:
    result = run_cli("scenarios")
    lines = result.stdout.splitlines()

    assert result.returncode == 0
    assert tuple(line for line in lines if not line.startswith(" ")) == BUNDLED
    assert lines[1] == (
        "    Basic authentication with a single user, ccadmin@example.com with "
        "password s3cret,"
    )


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        (
            str(DATA / "undeclared-device.yaml"),
            f"{DATA / 'undeclared-device.yaml'}:8:13: /faults/0/target: expected a"
            " declared device, found undeclared device 'finesse-b' (did you mean"
            " 'finesse-a'?); declared devices: cvp-a, finesse-a",
        ),
        (
            "no-such-scenario",
            "no-such-scenario: no such file and no bundled scenario of that name;"
            f" bundled scenarios: {', '.join(BUNDLED)}",
        ),
    ],
    ids=["invalid-file", "unknown-name"],
)
def test_serve__invalid_scenario_exits_2(scenario: str, expected: str) -> None:
    result = run_cli("serve", "--scenario", scenario, "--port", "0")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        expected,
        f"mockserver: error: scenario {scenario!r} is invalid",
    ]


def test_serve_flags_override_scenario() -> None:
    args = build_parser().parse_args(["serve", "--no-auth", "--profile", "observed"])
    scenario = load_scenario("auth-required")

    settings = settings_for(scenario, setting_values(args, environ={}))

    assert settings.auth is False
    assert settings.profile == "observed"
    assert settings.users == (("ccadmin@example.com", "s3cret"),)
    assert settings.scenario is scenario


def test_environment_overrides_scenario() -> None:
    args = build_parser().parse_args(["serve"])
    scenario = load_scenario("auth-required")

    settings = settings_for(
        scenario, setting_values(args, environ={"MOCKSERVER_NO_AUTH": "true"})
    )

    assert settings.auth is False


class Server:
    """A ``mockserver serve`` process and the log lines it has written."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}{REGISTRATION_PATH}"
        self.log: list[str] = []
        self._reader = asyncio.create_task(self._read_log())

    async def _read_log(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.log.append(line.decode().rstrip())

    async def wait_for_status(self, http: aiohttp.ClientSession, status: int) -> int:
        """Poll GET until it returns ``status``, at most PATIENCE seconds."""
        last = 0
        deadline = asyncio.get_running_loop().time() + PATIENCE
        while asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.get(self.url, headers=ADMIN) as response:
                    last = response.status
                    if last == status:
                        return last
            await asyncio.sleep(0.1)
        return last

    async def wait_for_log(self, text: str) -> bool:
        """Wait until a log line contains ``text``, at most PATIENCE seconds."""
        deadline = asyncio.get_running_loop().time() + PATIENCE
        while asyncio.get_running_loop().time() < deadline:
            if any(text in line for line in self.log):
                return True
            await asyncio.sleep(0.1)
        return False

    async def stop(self) -> None:
        """Stop the process with SIGTERM and wait for it."""
        if self.process.returncode is None:
            self.process.terminate()
        await asyncio.wait_for(self.process.wait(), PATIENCE)
        await self._reader


@pytest.fixture
async def watched_server(
    tmp_path: Path, unused_tcp_port: int
) -> AsyncIterator[tuple[Server, Path]]:
    """Start ``serve --watch`` on a scenario file in ``tmp_path``."""
    path = tmp_path / "watched.yaml"
    path.write_text("name: first\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mockserver",
        "serve",
        "--scenario",
        str(path),
        "--watch",
        "--port",
        str(unused_tcp_port),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "MOCKSERVER_LOG_FORMAT": "text"},
    )
    server = Server(process, unused_tcp_port)
    try:
        yield server, path
    finally:
        await server.stop()


async def test_watch__reloads_and_keeps_on_invalid(
    watched_server: tuple[Server, Path],
) -> None:
    server, path = watched_server
    fault = "faults:\n  - target: config.get\n    action: {status: 502}\n"

    async with aiohttp.ClientSession() as http:
        started = await server.wait_for_status(http, 200)
        path.write_text(f"name: second\n{fault}", encoding="utf-8")
        reloaded = await server.wait_for_status(http, 502)
        path.write_text(f"name: third\nseed: lots\n{fault}", encoding="utf-8")
        rejected = await server.wait_for_log("changed but is invalid")
        async with http.get(server.url, headers=ADMIN) as response:
            kept = response.status

    assert started == 200
    assert reloaded == 502
    assert rejected
    assert kept == 502
    assert any("Scenario 'second' loaded from" in line for line in server.log)
    assert f"{path}:2:7: /seed: expected an integer, found string 'lots'" in server.log

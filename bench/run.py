"""Compare mockserver with a bare aiohttp app on the same machine, in the same run.

For each server it measures the time from process start to the first 200, as the
median of several starts. It measures GET throughput and latency under wrk, with the
server pinned to one core and wrk to the other. It reads the server's resident memory
after a warm-up and after the load. For
mockserver also the latency of full updates (register, then deregister) sent one at
a time. Prints figures and ratios;
asserts nothing. Every server binds to 127.0.0.1 and every request goes there.

Usage: python bench/run.py [--duration SECONDS] [--connections N] [--updates N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import ClientSession, encode_basic_auth

ROOT = Path(__file__).resolve().parent.parent
PATH = "/unifiedconfig/config/contextserviceregistration"
AUTH = encode_basic_auth("administrator@example.com", "mockserver")
SERVER_CPU = "0"
LOAD_CPU = "1"
STARTUP_LIMIT = 30.0


@dataclass
class Figures:
    """Figures measured for one server."""

    name: str
    first_200_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    rss_before_kib: int
    rss_after_kib: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], cpu: str) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", cpu, *command]
    return command


def get_status(port: int) -> int | None:
    """Send one GET over a raw socket and return the status, or None on no response."""
    request = (
        f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: {AUTH}\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(request)
            head = sock.recv(64)
    except OSError:
        return None
    match = re.match(rb"HTTP/1\.1 (\d{3})", head)
    return int(match.group(1)) if match else None


def start(command: list[str], port: int) -> tuple[subprocess.Popen[bytes], float]:
    """Start a server; return it and the seconds until its first 200."""
    started = time.perf_counter()
    process = subprocess.Popen(
        pinned(command, SERVER_CPU),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    deadline = started + STARTUP_LIMIT
    while time.perf_counter() < deadline:
        if get_status(port) == 200:
            return process, time.perf_counter() - started
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {process.returncode}")
        time.sleep(0.002)
    process.kill()
    raise RuntimeError(f"no 200 from port {port} within {STARTUP_LIMIT} s")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_wrk(port: int, duration: float, connections: int) -> tuple[float, float, float]:
    """Run wrk against the GET; return requests per second, p50 and p99 in ms."""
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "-H",
        f"Authorization: {AUTH}",
        f"http://127.0.0.1:{port}{PATH}",
    ]
    output = subprocess.run(
        pinned(command, LOAD_CPU),
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw errors:\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"wrk printed no request rate:\n{output}")
    rate = float(match.group(1))
    return rate, _percentile(output, "50"), _percentile(output, "99")


def _percentile(output: str, which: str) -> float:
    match = re.search(rf"^\s+{which}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no {which}% latency:\n{output}")
    value, unit = float(match.group(1)), match.group(2)
    if unit == "us":
        return value / 1000
    if unit == "s":
        return value * 1000
    return value


def measure(
    name: str, command: list[str], port: int, args: argparse.Namespace
) -> tuple[Figures, subprocess.Popen[bytes]]:
    """Time start-up (median of several starts), then load the last server started."""
    starts = []
    for _ in range(args.starts - 1):
        process, first = start(command, port)
        starts.append(first)
        stop(process)
    process, first = start(command, port)
    starts.append(first)
    try:
        run_wrk(port, 1, args.connections)  # warm-up, not reported
        before = rss_kib(process.pid)
        rate, p50, p99 = run_wrk(port, args.duration, args.connections)
        after = rss_kib(process.pid)
    except BaseException:
        # The caller never gets the process, so it is stopped here.
        stop(process)
        raise
    figures = Figures(name, statistics.median(starts), rate, p50, p99, before, after)
    return figures, process


async def update_latencies(port: int, count: int) -> list[float]:
    """Send ``count`` updates one at a time, alternating register and deregister."""
    url = f"http://127.0.0.1:{port}{PATH}"
    headers = {"Authorization": AUTH, "Content-Type": "application/xml"}
    latencies = []
    async with ClientSession() as client:
        for index in range(count):
            value = f"bench-{index}" if index % 2 == 0 else ""
            body = (
                "<contextServiceRegistration><connectionData>"
                f"{value}</connectionData></contextServiceRegistration>"
            )
            started = time.perf_counter()
            async with client.put(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"update {index} returned {response.status}")
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def report(
    args: argparse.Namespace,
    bare: Figures,
    mock: Figures,
    latencies: list[float],
    rss_end: int,
) -> None:
    """Print the figures of both servers and the ratios."""
    seconds = max(1, round(args.duration))
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"GET load: wrk -t1 -c{args.connections} -d{seconds}s; "
        f"server on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU}"
    )
    print()
    header = ("server", "first 200", "GET/s", "p50", "p99", "RSS loaded", "after")
    print("{:<14}{:>10}{:>9}{:>9}{:>9}{:>12}{:>9}".format(*header))
    for row in (bare, mock):
        print(
            f"{row.name:<14}{row.first_200_s * 1000:>8.0f}ms"
            f"{row.requests_per_s:>9.0f}{row.p50_ms:>7.2f}ms{row.p99_ms:>7.2f}ms"
            f"{row.rss_before_kib / 1024:>10.1f}MB{row.rss_after_kib / 1024:>7.1f}MB"
        )
    print()
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"mockserver updates ({len(latencies)}, one at a time): "
        f"p50 {cuts[49]:.2f} ms, p99 {cuts[98]:.2f} ms; "
        f"RSS afterwards {rss_end / 1024:.1f} MB"
    )
    print()
    throughput = mock.requests_per_s / bare.requests_per_s
    first = mock.first_200_s / bare.first_200_s
    print(f"GET throughput, mockserver / bare: {throughput:.2f} (target >= 0.5)")
    print(f"time to first 200, mockserver / bare: {first:.2f} (target <= 2)")
    print(f"GET p99 latency, mockserver / bare: {mock.p99_ms / bare.p99_ms:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds of GET load per server (5)"
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="wrk connections (32)"
    )
    parser.add_argument(
        "--starts", type=int, default=5, help="starts per server to time (5)"
    )
    parser.add_argument(
        "--updates", type=int, default=1000, help="sequential updates to time (1000)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print(
            "bench: wrk is not installed; install it with: apt-get install -y wrk",
            file=sys.stderr,
        )
        return 1

    bare_port = free_port()
    bare, bare_process = measure(
        "bare aiohttp",
        [sys.executable, "bench/bare_app.py", str(bare_port)],
        bare_port,
        args,
    )
    stop(bare_process)

    mock_port = free_port()
    mock_command = [
        sys.executable,
        "-m",
        "mockserver",
        "serve",
        "--port",
        str(mock_port),
        "--log-level",
        "WARNING",
    ]
    mock, mock_process = measure("mockserver", mock_command, mock_port, args)
    try:
        latencies = asyncio.run(update_latencies(mock_port, args.updates))
        rss_end = rss_kib(mock_process.pid)
    finally:
        stop(mock_process)

    report(args, bare, mock, latencies, rss_end)
    return 0


if __name__ == "__main__":
    sys.exit(main())

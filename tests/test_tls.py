"""HTTPS with a certificate the test makes, as real clients hard-code https."""

from __future__ import annotations

import signal
import ssl
from pathlib import Path

import pytest
import trustme
from aiohttp import ClientSession, TCPConnector, encode_basic_auth
from test_cli import STARTUP_TIMEOUT, free_port, start_server, wait_for_line

from mockserver.cli import build_parser, settings_from
from mockserver.errors import SettingsError

REGISTRATION_PATH = "/unifiedconfig/config/contextserviceregistration"


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


def write_pair(authority: trustme.CA, directory: Path) -> tuple[Path, Path]:
    """Write a certificate for 127.0.0.1 and its key; return both paths."""
    issued = authority.issue_cert("127.0.0.1", "localhost")
    cert = directory / "cert.pem"
    key = directory / "key.pem"
    issued.private_key_pem.write_to_path(str(key))
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    return cert, key


async def test_serves_https_to_tls12_client(
    authority: trustme.CA, tmp_path: Path
) -> None:
    cert, key = write_pair(authority, tmp_path)
    port = free_port()
    context = ssl.create_default_context()
    authority.configure_trust(context)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    process = start_server(
        "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)
    )
    try:
        summary = wait_for_line(process, "listening on")
        async with ClientSession(connector=TCPConnector(ssl=context)) as client:
            response = await client.get(
                f"https://127.0.0.1:{port}{REGISTRATION_PATH}",
                params={"callbackUrl": "https://admin.example.com/cb"},
                headers={
                    "Authorization": encode_basic_auth(
                        "administrator@example.com", "mockserver"
                    )
                },
            )
            body = await response.text()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=STARTUP_TIMEOUT)

    assert f"listening on https://127.0.0.1:{port}" in summary
    assert response.status == 200
    assert f"https://127.0.0.1:{port}/v1/authorize?" in body
    assert process.returncode == 0


def test_tls_needs_cert_and_key(tmp_path: Path) -> None:
    args = build_parser().parse_args(["serve", "--tls-cert", str(tmp_path / "c.pem")])

    with pytest.raises(SettingsError) as caught:
        settings_from(args, {})

    assert str(caught.value) == (
        "TLS needs both a certificate and a key: set --tls-cert and --tls-key"
    )


def test_tls_mismatched_key_exits_2(authority: trustme.CA, tmp_path: Path) -> None:
    cert, _ = write_pair(authority, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, wrong_key = write_pair(trustme.CA(), other)
    process = start_server(
        "--port", str(free_port()), "--tls-cert", str(cert), "--tls-key", str(wrong_key)
    )

    _, stderr = process.communicate(timeout=STARTUP_TIMEOUT)

    assert process.returncode == 2
    assert "is invalid or they do not match" in stderr
    assert ": None" not in stderr

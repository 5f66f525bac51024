"""Device settings from --device-* flags and MOCKSERVER_DEVICE* variables."""

from __future__ import annotations

import pytest

from mockserver.cli import build_parser, settings_from
from mockserver.deviceconfig import (
    DEFAULT_DEVICES,
    DeviceAction,
    DeviceConfig,
    DeviceFault,
)
from mockserver.errors import SettingsError
from mockserver.settings import Settings


def settings(*flags: str, **environ: str) -> Settings:
    """Build Settings from serve flags and MOCKSERVER_* variables."""
    args = build_parser().parse_args(["serve", *flags])
    return settings_from(
        args, {f"MOCKSERVER_{key}": value for key, value in environ.items()}
    )


def test_default_is_one_device_of_each_type() -> None:
    result = settings()

    assert result.devices == DEFAULT_DEVICES
    assert [device.type for device in result.devices] == [
        "cvp",
        "finesse",
        "socialminer",
    ]
    assert result.device_faults == ()


def test_flags_set_devices_and_faults() -> None:
    result = settings(
        "--device=a:cvp",
        "--device=b:finesse=http://127.0.0.1:9000",
        "--device=c:socialminer",
        "--device-fail=a:503",
        "--device-delay=a:1.5",
        "--device-reset=c",
        "--device-timeout=2",
        "--device-timeout=a:0.5",
    )

    assert result.devices == (
        DeviceConfig("a", "cvp", timeout=0.5),
        DeviceConfig("b", "finesse", "http://127.0.0.1:9000", timeout=2.0),
        DeviceConfig("c", "socialminer", timeout=2.0),
    )
    assert result.device_faults == (
        DeviceFault("a", DeviceAction(status=503, delay=1.5)),
        DeviceFault("c", DeviceAction(reset=True)),
    )


def test_environment_sets_devices_and_faults() -> None:
    result = settings(
        DEVICES="a:cvp, b:socialminer",
        DEVICE_FAIL="b:500",
        DEVICE_DELAY="a:3",
        DEVICE_RESET="a",
        DEVICE_TIMEOUT="4",
    )

    assert result.devices == (
        DeviceConfig("a", "cvp", timeout=4.0),
        DeviceConfig("b", "socialminer", timeout=4.0),
    )
    assert result.device_faults == (
        DeviceFault("b", DeviceAction(status=500)),
        DeviceFault("a", DeviceAction(delay=3.0, reset=True)),
    )


def test_flag_wins_over_environment() -> None:
    result = settings("--device=x:cvp", DEVICES="y:finesse")

    assert [device.name for device in result.devices] == ["x"]


def test_timeout_applies_to_default_devices() -> None:
    result = settings("--device-timeout=0.25")

    assert {device.timeout for device in result.devices} == {0.25}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--device=a"], "device 'a' is invalid; write NAME:TYPE or NAME:TYPE=URL"),
        (["--device=a:router"], "device 'a' has unknown type 'router'"),
        (["--device=a:cvp="], "device 'a:cvp=' is invalid"),
        (["--device=a:cvp=ftp://x"], "'ftp://x', which is not an absolute http(s)"),
        (["--device=-a:cvp"], "device name '-a' is invalid"),
        (["--device=a:cvp", "--device=a:finesse"], "device 'a' is configured twice"),
        (
            ["--device-fail=nobody:500"],
            "names device 'nobody', which is not configured",
        ),
        (["--device-fail=cvp-1:200"], "has status '200'; use an HTTP status from 300"),
        (["--device-fail=cvp-1"], "'cvp-1' is invalid; write NAME:STATUS"),
        (["--device-delay=cvp-1:-1"], "has '-1' seconds; use a number of seconds 0 or"),
        (["--device-delay=cvp-1:soon"], "has 'soon' seconds"),
        (
            ["--device-timeout=0"],
            "has '0' seconds; use a number of seconds more than 0",
        ),
        (
            ["--device-timeout=nobody:1"],
            "names device 'nobody', which is not configured",
        ),
        (["--device-reset=nobody"], "names device 'nobody', which is not configured"),
        (
            ["--device=a:cvp=http://127.0.0.1:9", "--device-fail=a:500"],
            "names device 'a', which the server at http://127.0.0.1:9 plays",
        ),
    ],
    ids=[
        "missing-type",
        "unknown-type",
        "empty-url",
        "non-http-url",
        "bad-name",
        "duplicate-name",
        "fail-unknown-device",
        "fail-2xx",
        "fail-missing-status",
        "negative-delay",
        "delay-not-a-number",
        "zero-timeout",
        "timeout-unknown-device",
        "reset-unknown-device",
        "fault-on-external-device",
    ],
)
def test_invalid_device_setting_is_rejected(flags: list[str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings(*flags)

    assert message in str(caught.value)


def test_internal_url_uses_loopback_for_wildcard_hosts() -> None:
    assert Settings(host="0.0.0.0", port=81).internal_url == "http://127.0.0.1:81"
    assert Settings(host="::", port=82).internal_url == "http://[::1]:82"
    assert Settings(host="127.0.0.1", port=83).internal_url == "http://127.0.0.1:83"

"""The control API's settings: --journal-size and --control-token, flags and env."""

from __future__ import annotations

import pytest

from mockserver.cli import build_parser, settings_from
from mockserver.errors import SettingsError
from mockserver.settings import Settings


def settings_for(argv: list[str], environ: dict[str, str] | None = None) -> Settings:
    return settings_from(build_parser().parse_args(["serve", *argv]), environ or {})


def test_defaults_keep_1000_entries_without_token() -> None:
    settings = settings_for([])

    assert settings.journal_size == 1000
    assert settings.control_token is None


@pytest.mark.parametrize(
    ("argv", "environ", "size", "token"),
    [
        (["--journal-size", "5", "--control-token", "abc"], {}, 5, "abc"),
        (
            [],
            {"MOCKSERVER_JOURNAL_SIZE": "7", "MOCKSERVER_CONTROL_TOKEN": "env"},
            7,
            "env",
        ),
        (
            ["--journal-size", "9", "--control-token", "flag"],
            {"MOCKSERVER_JOURNAL_SIZE": "7", "MOCKSERVER_CONTROL_TOKEN": "env"},
            9,
            "flag",
        ),
    ],
    ids=["flags", "environment", "flag-wins"],
)
def test_settings_read_flags_and_environment(
    argv: list[str], environ: dict[str, str], size: int, token: str
) -> None:
    settings = settings_for(argv, environ)

    assert settings.journal_size == size
    assert settings.control_token == token


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["--journal-size", "0"], {}, "journal size 0 is out of range 1..1000000"),
        ([], {"MOCKSERVER_JOURNAL_SIZE": "many"}, "is not an integer"),
        (["--control-token", " "], {}, "control token is empty"),
        ([], {"MOCKSERVER_CONTROL_TOKEN": ""}, "control token is empty"),
    ],
    ids=["zero-size", "size-not-integer", "blank-token", "empty-token-env"],
)
def test_settings_reject_invalid_values(
    argv: list[str], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        settings_for(argv, environ)


def test_settings_repr_hides_token() -> None:
    settings = Settings(control_token="very-secret")

    assert "very-secret" not in repr(settings)

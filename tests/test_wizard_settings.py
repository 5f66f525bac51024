from __future__ import annotations

import pytest

from mockserver.cli import build_parser, settings_from
from mockserver.errors import SettingsError
from mockserver.session import build_session
from mockserver.settings import Settings


def parse(argv: list[str], environ: dict[str, str] | None = None) -> Settings:
    args = build_parser().parse_args(["serve", *argv])
    return settings_from(args, environ or {})


@pytest.mark.parametrize(
    ("argv", "environ", "mode", "accept_any"),
    [
        ([], {}, "pages", False),
        (["--wizard-mode", "auto"], {}, "auto", False),
        ([], {"MOCKSERVER_WIZARD_MODE": "auto"}, "auto", False),
        (
            ["--wizard-mode", "pages"],
            {"MOCKSERVER_WIZARD_MODE": "auto"},
            "pages",
            False,
        ),
        (["--accept-any-connection-data"], {}, "pages", True),
        ([], {"MOCKSERVER_ACCEPT_ANY_CONNECTION_DATA": "true"}, "pages", True),
    ],
    ids=[
        "defaults",
        "flag",
        "environment",
        "flag-wins",
        "accept-any",
        "accept-any-env",
    ],
)
def test_wizard_settings_from_flags_and_environment(
    argv: list[str], environ: dict[str, str], mode: str, accept_any: bool
) -> None:
    settings = parse(argv, environ)

    assert settings.wizard_mode == mode
    assert settings.accept_any_connection_data is accept_any


def test_invalid_wizard_mode_is_rejected() -> None:
    with pytest.raises(SettingsError, match="wizard mode 'manual' is unknown; use one"):
        parse([], {"MOCKSERVER_WIZARD_MODE": "manual"})


def test_accept_any_setting_reaches_the_store() -> None:
    strict = build_session(Settings()).store
    relaxed = build_session(Settings(accept_any_connection_data=True)).store
    strict.reset("abc")
    relaxed.reset("abc")

    assert strict.state == "invalid"
    assert relaxed.state == "registered"


def test_sessions_do_not_share_secrets() -> None:
    first = build_session(Settings())
    second = build_session(Settings())
    token = first.tokens.mint().value

    assert first.tokens.is_live(token)
    assert second.tokens.is_live(token) is False

"""Exception types raised by mockserver."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MockServerError", "ScenarioError", "SettingsError"]


class MockServerError(Exception):
    """Base class of every error mockserver raises on purpose."""


class SettingsError(MockServerError):
    """A command-line flag or MOCKSERVER_* environment variable is invalid."""


class ScenarioError(MockServerError):
    """A scenario file is invalid, so the server refuses to start with it.

    ``lines`` contains one message per problem, each starting with ``file:line:column``
    when the position is known.
    """

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = tuple(lines)

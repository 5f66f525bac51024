"""The registration store: the stored connectionData, its derived state and the rules.

This is the only place the registration changes. Every change replaces an immutable
``Registration`` snapshot in one step, so a reader sees a whole old or a whole new
view, never a mix.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from .apierrors import ApiError
from .contracts import is_xml_text

__all__ = [
    "MAX_CONNECTION_DATA_BYTES",
    "ConnectionDataChecker",
    "Database",
    "DatabaseError",
    "Registration",
    "RegistrationState",
    "RegistrationStore",
    "SyncFailure",
    "SyncHook",
    "UpdateOutcome",
    "WriteHook",
    "accept_any_connection_data",
]

log = logging.getLogger("mockserver.registration")

MAX_CONNECTION_DATA_BYTES = 4096

RegistrationState = Literal["notRegistered", "registered", "invalid"]

# Decides whether a stored, non-empty connectionData is live (registered) or not
# (invalid).
ConnectionDataChecker = Callable[[str], bool]


def accept_any_connection_data(value: str) -> bool:
    """Treat every non-empty connectionData as live."""
    return True


@dataclass(frozen=True)
class Registration:
    """One immutable view of the stored registration."""

    connection_data: str = ""
    version: int = 0
    updated_at: float = field(default_factory=time.time)
    # Set when the cloud no longer accepts the stored value; the state reads invalid
    # until it is replaced.
    revoked: bool = False


@dataclass(frozen=True)
class SyncFailure:
    """A device that did not take the new connectionData, and why."""

    device: str
    reason: str


# Runs after a successful database write with the stored value; returns the devices
# that failed. The device sync plugs in here.
SyncHook = Callable[[str], Awaitable[list[SyncFailure]]]


async def _no_sync(value: str) -> list[SyncFailure]:
    return []


class DatabaseError(Exception):
    """The database write failed; nothing was stored.

    ``status`` and ``errors`` set the response. Without errors, the response
    carries the table's database_failure error.
    """

    def __init__(
        self, message: str, *, status: int = 500, errors: tuple[ApiError, ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors


# Runs before each database write with the value; may wait, or raise DatabaseError.
WriteHook = Callable[[str], Awaitable[None]]


class Database:
    """The configuration database write, with a switch that makes it fail."""

    def __init__(
        self, *, fail_writes: bool = False, before_write: WriteHook | None = None
    ) -> None:
        self.fail_writes = fail_writes
        self.before_write = before_write

    async def write(self, value: str) -> None:
        """Write ``value``, or raise DatabaseError when writes are set to fail."""
        if self.before_write is not None:
            await self.before_write(value)
        if self.fail_writes:
            raise DatabaseError("database writes are set to fail")


@dataclass(frozen=True)
class UpdateOutcome:
    """The result of one update: the HTTP status and, for errors, the apiErrors."""

    status: int
    errors: tuple[ApiError, ...] = ()
    changed: bool = False


class RegistrationStore:
    """Hold the registration and apply updates one at a time."""

    def __init__(
        self,
        *,
        checker: ConnectionDataChecker = accept_any_connection_data,
        database: Database | None = None,
        sync: SyncHook = _no_sync,
        initial: str = "",
    ) -> None:
        self.checker = checker
        self.database = database or Database()
        self.sync = sync
        self._current = Registration(initial)
        self._writing = False

    @property
    def current(self) -> Registration:
        """Return the current snapshot."""
        return self._current

    @property
    def is_busy(self) -> bool:
        """Tell whether a write or device sync is running."""
        return self._writing

    def state_of(self, registration: Registration) -> RegistrationState:
        """Derive the registration state of a snapshot."""
        if not registration.connection_data:
            return "notRegistered"
        if registration.revoked:
            return "invalid"
        return "registered" if self.checker(registration.connection_data) else "invalid"

    @property
    def state(self) -> RegistrationState:
        """Return the state of the current snapshot."""
        return self.state_of(self._current)

    def check_update(self, value: str) -> list[ApiError]:
        """Return the field-rule violations of an update to ``value``."""
        size = len(value.encode("utf-8"))
        if size > MAX_CONNECTION_DATA_BYTES:
            return [
                ApiError.of(
                    "field_length_exceeded",
                    data="connectionData",
                    detail=f"max={MAX_CONNECTION_DATA_BYTES}",
                    field="connectionData",
                    max=MAX_CONNECTION_DATA_BYTES,
                )
            ]
        if not is_xml_text(value):
            return [
                ApiError.of(
                    "invalid_characters", data="connectionData", field="connectionData"
                )
            ]
        stored = self._current.connection_data
        if value and stored and value != stored:
            return [ApiError.of("deregister_first", data="connectionData")]
        return []

    async def update(self, value: str) -> UpdateOutcome:
        """Apply an update: field rules, busy check, database write, device sync."""
        problems = self.check_update(value)
        if problems:
            return UpdateOutcome(400, tuple(problems))
        # No await separates this check from setting the flag, so two requests can
        # never both pass it.
        if self._writing:
            return UpdateOutcome(503, (ApiError.of("busy"),))
        self._writing = True
        try:
            return await self._write_and_sync(value)
        finally:
            self._writing = False

    async def _write_and_sync(self, value: str) -> UpdateOutcome:
        before = self._current
        changed = value != before.connection_data
        if changed:
            try:
                await self.database.write(value)
            except DatabaseError as exc:
                log.info("Database write failed: %s", exc)
                errors = exc.errors or (ApiError.of("database_failure"),)
                return UpdateOutcome(exc.status, errors)
            self._current = Registration(value, before.version + 1)
            log.info(
                "Registration moved from %s to %s (version %d)",
                self.state_of(before),
                self.state,
                self._current.version,
            )
        failures = await self.sync(value)
        errors = tuple(
            ApiError.of(
                "partial_success",
                data=failure.device,
                device=failure.device,
                reason=failure.reason,
            )
            for failure in failures
        )
        return UpdateOutcome(201 if errors else 200, errors, changed)

    def reset(self, value: str = "") -> None:
        """Replace the registration with ``value`` at once, bypassing the rules."""
        self._current = Registration(value, self._current.version + 1)

    def invalidate(self) -> None:
        """Mark the stored connectionData as no longer accepted by the cloud.

        The state reads invalid until an update replaces the value; with nothing
        stored, the state stays notRegistered.
        """
        before = self._current
        if not before.connection_data or before.revoked:
            return
        self._current = dataclasses.replace(
            before, version=before.version + 1, revoked=True
        )
        log.info(
            "Registration moved from %s to invalid (version %d)",
            self.state_of(before),
            self._current.version,
        )

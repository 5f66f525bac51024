"""The request journal: a bounded ring buffer of requests, and queries over it.

Recording runs on every request to a role, so it does one tuple allocation and one
deque append. It takes no lock, because the event loop runs one callback at a time.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from .apierrors import ApiError

__all__ = [
    "EPOCH",
    "MODES",
    "ROLES",
    "Journal",
    "JournalEntry",
    "JournalQuery",
    "Mismatch",
    "Mode",
    "Role",
    "VerifyResult",
    "format_time",
    "is_count_satisfied",
    "nearest_entries",
    "role_of",
    "verify",
]

Role = Literal["config", "wizard", "demo", "devices", "other"]
Mode = Literal["exact", "at_least", "at_most"]

ROLES: tuple[Role, ...] = ("config", "wizard", "demo", "devices", "other")
MODES: tuple[Mode, ...] = ("exact", "at_least", "at_most")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# How many non-matching entries a failed verification reports.
NEAREST_LIMIT = 5


def role_of(path: str) -> Role | None:
    """Return the role that serves ``path``, or None for the control API."""
    if path.startswith("/unifiedconfig/"):
        return "config"
    if path.startswith("/_mock/") or path == "/_mock":
        return None
    if path.startswith("/v1/") or path == "/management":
        return "wizard"
    if path.startswith("/_devices/"):
        return "devices"
    if path.startswith("/demo/") or path == "/demo":
        return "demo"
    return "other"


class JournalEntry(NamedTuple):
    """One request as the journal stores it.

    A NamedTuple rather than a dataclass because it is built on every request and a
    tuple is the cheapest immutable record to build.
    """

    seq: int
    # Microseconds since the epoch when the request arrived; an integer, so time
    # filters compare exactly with the times the journal shows.
    time_us: int
    role: Role
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    warnings: tuple[str, ...]
    errors: tuple[ApiError, ...]
    fault: str | None

    def as_dict(self) -> dict[str, Any]:
        """Return the entry as the control API shows it."""
        validation: list[dict[str, str | None]] = [
            {
                "severity": "error",
                "errorType": error.error_type,
                "message": _error_text(error),
            }
            for error in self.errors
        ]
        validation.extend(
            {"severity": "warning", "errorType": None, "message": warning}
            for warning in self.warnings
        )
        return {
            "seq": self.seq,
            "time": format_time(self.time_us),
            "role": self.role,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "validation": validation,
            "fault": self.fault,
        }


def _error_text(error: ApiError) -> str:
    if error.error_detail:
        return f"{error.error_message} ({error.error_detail})"
    return error.error_message


def format_time(time_us: int) -> str:
    """Format microseconds since the epoch as ISO 8601 in UTC."""
    moment = EPOCH + timedelta(microseconds=time_us)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


class Journal:
    """Keep the latest ``capacity`` requests and count the ones dropped before them."""

    def __init__(self, capacity: int = 1000) -> None:
        if capacity < 1:
            raise ValueError(f"journal capacity {capacity!r} must be at least 1")
        self.capacity = capacity
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._recorded = 0
        self._dropped = 0
        self._changed: asyncio.Event | None = None

    @property
    def recorded(self) -> int:
        """Return how many requests were recorded since the last clear."""
        return self._recorded

    @property
    def dropped(self) -> int:
        """Return how many entries the bound pushed out since the last clear."""
        return self._dropped

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self._entries)

    def next_seq(self) -> int:
        """Return the sequence number the next entry gets."""
        return self._recorded + 1

    def record(self, entry: JournalEntry) -> None:
        """Append ``entry``, dropping the oldest one when the journal is full."""
        if len(self._entries) == self.capacity:
            self._dropped += 1
        self._entries.append(entry)
        self._recorded += 1
        self._notify()

    def clear(self) -> None:
        """Remove every entry and reset the counters."""
        self._entries.clear()
        self._recorded = 0
        self._dropped = 0
        self._notify()

    def _notify(self) -> None:
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    async def wait_for_change(self, timeout: float) -> None:
        """Wait until an entry is recorded or the journal is cleared, or ``timeout``."""
        if self._changed is None:
            self._changed = asyncio.Event()
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            return


@dataclass(frozen=True)
class Mismatch:
    """One filter an entry fails: the field, what the filter expects, what it has."""

    field: str
    expected: object
    actual: object

    def as_dict(self) -> dict[str, object]:
        """Return the mismatch as the control API shows it."""
        return {"field": self.field, "expected": self.expected, "actual": self.actual}


@dataclass(frozen=True)
class JournalQuery:
    """Filters over journal entries. A field left as None matches every entry."""

    role: Role | None = None
    method: str | None = None
    # Exact path, or a pattern in which each * matches any run of characters.
    path: str | None = None
    # An exact status such as 503, or a class such as "4xx".
    status: int | str | None = None
    # Microseconds since the epoch, both inclusive.
    since: int | None = None
    until: int | None = None

    def __repr__(self) -> str:
        filters = " ".join(
            f"{name}={value!r}" for name, value in self.as_dict().items()
        )
        return f"<JournalQuery {filters or 'every entry'}>"

    def mismatches(self, entry: JournalEntry) -> list[Mismatch]:
        """Return the filters that ``entry`` fails. An empty list is a match."""
        found: list[Mismatch] = []
        if self.role is not None and entry.role != self.role:
            found.append(Mismatch("role", self.role, entry.role))
        if self.method is not None and entry.method != self.method:
            found.append(Mismatch("method", self.method, entry.method))
        if self.path is not None and not _path_matches(self.path, entry.path):
            found.append(Mismatch("path", self.path, entry.path))
        if self.status is not None and not _status_matches(self.status, entry.status):
            found.append(Mismatch("status", self.status, entry.status))
        if self.since is not None and entry.time_us < self.since:
            found.append(
                Mismatch("since", format_time(self.since), format_time(entry.time_us))
            )
        if self.until is not None and entry.time_us > self.until:
            found.append(
                Mismatch("until", format_time(self.until), format_time(entry.time_us))
            )
        return found

    def matches(self, entry: JournalEntry) -> bool:
        """Tell whether ``entry`` passes every filter."""
        return not self.mismatches(entry)

    def select(self, entries: Iterable[JournalEntry]) -> list[JournalEntry]:
        """Return the entries that pass every filter, oldest first."""
        return [entry for entry in entries if self.matches(entry)]

    def as_dict(self) -> dict[str, object]:
        """Return the filters that are set, as the control API shows them."""
        values: dict[str, object] = {
            "role": self.role,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "since": None if self.since is None else format_time(self.since),
            "until": None if self.until is None else format_time(self.until),
        }
        return {name: value for name, value in values.items() if value is not None}


def _path_matches(pattern: str, path: str) -> bool:
    if "*" not in pattern:
        return pattern == path
    return _compile_path_pattern(pattern).fullmatch(path) is not None


@lru_cache(maxsize=64)
def _compile_path_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _status_matches(expected: int | str, status: int) -> bool:
    if isinstance(expected, int):
        return status == expected
    return str(status)[0] == expected[0]


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of one verification: whether the count matched, and the evidence."""

    matched: bool
    query: JournalQuery
    count: int
    mode: Mode
    found: int
    nearest: tuple[tuple[JournalEntry, tuple[Mismatch, ...]], ...]
    dropped: int
    waited_ms: float

    def as_dict(self) -> dict[str, Any]:
        """Return the result as the control API shows it."""
        return {
            "matched": self.matched,
            "expected": {
                "count": self.count,
                "mode": self.mode,
                "filters": self.query.as_dict(),
            },
            "found": self.found,
            "nearest": [
                {
                    **entry.as_dict(),
                    "mismatches": [mismatch.as_dict() for mismatch in mismatches],
                }
                for entry, mismatches in self.nearest
            ],
            "dropped": self.dropped,
            "waited_ms": round(self.waited_ms, 1),
        }


def is_count_satisfied(found: int, count: int, mode: Mode) -> bool:
    """Tell whether ``found`` matching entries satisfy ``count`` under ``mode``."""
    if mode == "exact":
        return found == count
    if mode == "at_least":
        return found >= count
    return found <= count


def _can_still_match(found: int, count: int, mode: Mode) -> bool:
    # New entries only raise the count, so a count already above the bound of exact
    # or at_most stays a mismatch until the journal is cleared.
    return mode == "at_least" or found < count


async def verify(
    journal: Journal, query: JournalQuery, count: int, mode: Mode, wait: float
) -> VerifyResult:
    """Count the entries matching ``query``, waiting up to ``wait`` seconds for more.

    The wait ends as soon as the count matches, or when no further request can make
    it match.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + wait
    while True:
        found = sum(1 for entry in journal if query.matches(entry))
        if is_count_satisfied(found, count, mode):
            return _result(journal, query, count, mode, found, started, matched=True)
        remaining = deadline - loop.time()
        if remaining <= 0 or not _can_still_match(found, count, mode):
            return _result(journal, query, count, mode, found, started, matched=False)
        await journal.wait_for_change(remaining)


def _result(
    journal: Journal,
    query: JournalQuery,
    count: int,
    mode: Mode,
    found: int,
    started: float,
    *,
    matched: bool,
) -> VerifyResult:
    waited_ms = (asyncio.get_running_loop().time() - started) * 1000
    nearest = () if matched else nearest_entries(journal, query)
    return VerifyResult(
        matched, query, count, mode, found, nearest, journal.dropped, waited_ms
    )


def nearest_entries(
    journal: Journal, query: JournalQuery, limit: int = NEAREST_LIMIT
) -> tuple[tuple[JournalEntry, tuple[Mismatch, ...]], ...]:
    """Return the entries with the fewest mismatches, newest first among equals."""
    scored = [(entry, tuple(query.mismatches(entry))) for entry in journal]
    scored.sort(key=lambda pair: (len(pair[1]), -pair[0].seq))
    return tuple(scored[:limit])

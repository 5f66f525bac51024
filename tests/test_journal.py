from __future__ import annotations

import asyncio

import pytest

from mockserver.apierrors import ApiError
from mockserver.journal import (
    Journal,
    JournalEntry,
    JournalQuery,
    Mismatch,
    Mode,
    Role,
    is_count_satisfied,
    nearest_entries,
    role_of,
    verify,
)

REGISTRATION = "/unifiedconfig/config/contextserviceregistration"


def make_entry(
    seq: int = 1,
    *,
    method: str = "GET",
    path: str = REGISTRATION,
    status: int = 200,
    time_us: int = 1_000_000_000,
    role: Role = "config",
) -> JournalEntry:
    return JournalEntry(seq, time_us, role, method, path, "", status, 1.0, (), (), None)


def filled_journal(capacity: int, count: int) -> Journal:
    journal = Journal(capacity)
    for seq in range(1, count + 1):
        journal.record(make_entry(seq))
    return journal


@pytest.mark.parametrize(
    ("path", "role"),
    [
        (REGISTRATION, "config"),
        ("/unifiedconfig/config/unknown", "config"),
        ("/v1/authorize", "wizard"),
        ("/management", "wizard"),
        ("/demo/", "demo"),
        ("/demo", "demo"),
        ("/_devices/finesse-a/contextservice", "devices"),
        ("/favicon.ico", "other"),
        ("/_mock/journal", None),
        ("/_mock", None),
    ],
)
def test_role_of_path(path: str, role: Role | None) -> None:
    assert role_of(path) == role


def test_journal_keeps_newest_entries_at_bound() -> None:
    journal = filled_journal(capacity=3, count=10)

    assert len(journal) == 3
    assert journal.recorded == 10
    assert journal.dropped == 7
    assert [entry.seq for entry in journal] == [8, 9, 10]


def test_journal_below_bound_drops_nothing() -> None:
    journal = filled_journal(capacity=3, count=3)

    assert len(journal) == 3
    assert journal.dropped == 0


def test_journal_clear_resets_counters() -> None:
    journal = filled_journal(capacity=3, count=5)

    journal.clear()

    assert len(journal) == 0
    assert journal.recorded == 0
    assert journal.dropped == 0
    assert journal.next_seq() == 1


def test_journal_rejects_zero_capacity() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Journal(0)


async def test_wait_for_change_wakes_on_record() -> None:
    journal = Journal(5)
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, journal.record, make_entry())
    started = loop.time()

    await journal.wait_for_change(5.0)

    assert loop.time() - started < 4.0
    assert len(journal) == 1


async def test_wait_for_change_returns_at_timeout() -> None:
    journal = Journal(5)

    await journal.wait_for_change(0.05)

    assert len(journal) == 0


@pytest.mark.parametrize(
    ("query", "mismatches"),
    [
        (JournalQuery(), []),
        (JournalQuery(method="GET", path=REGISTRATION, status=200), []),
        (JournalQuery(method="PUT"), [Mismatch("method", "PUT", "GET")]),
        (JournalQuery(role="wizard"), [Mismatch("role", "wizard", "config")]),
        (JournalQuery(path="/unifiedconfig/*"), []),
        (JournalQuery(path="*/contextservice*"), []),
        (
            JournalQuery(path="/unifiedconfig/config/contextservice"),
            [Mismatch("path", "/unifiedconfig/config/contextservice", REGISTRATION)],
        ),
        (JournalQuery(status="2xx"), []),
        (JournalQuery(status="4xx"), [Mismatch("status", "4xx", 200)]),
        (JournalQuery(since=1_000_000_000, until=1_000_000_000), []),
        (
            JournalQuery(since=1_000_500_000),
            [
                Mismatch(
                    "since",
                    "1970-01-01T00:16:40.500000Z",
                    "1970-01-01T00:16:40.000000Z",
                )
            ],
        ),
        (
            JournalQuery(until=999_000_000),
            [
                Mismatch(
                    "until",
                    "1970-01-01T00:16:39.000000Z",
                    "1970-01-01T00:16:40.000000Z",
                )
            ],
        ),
        (
            JournalQuery(method="PUT", status=503),
            [Mismatch("method", "PUT", "GET"), Mismatch("status", 503, 200)],
        ),
    ],
    ids=[
        "no-filters",
        "all-equal",
        "method",
        "role",
        "path-prefix-pattern",
        "path-inner-pattern",
        "path-exact",
        "status-class",
        "status-class-mismatch",
        "time-bounds-inclusive",
        "since",
        "until",
        "two-fields",
    ],
)
def test_query_mismatches(query: JournalQuery, mismatches: list[Mismatch]) -> None:
    assert query.mismatches(make_entry()) == mismatches


def test_query_repr_lists_filters() -> None:
    assert repr(JournalQuery(method="PUT", status="5xx")) == (
        "<JournalQuery method='PUT' status='5xx'>"
    )


@pytest.mark.parametrize(
    ("found", "count", "mode", "satisfied"),
    [
        (1, 1, "exact", True),
        (2, 1, "exact", False),
        (0, 1, "exact", False),
        (2, 1, "at_least", True),
        (0, 1, "at_least", False),
        (1, 1, "at_most", True),
        (2, 1, "at_most", False),
        (0, 0, "exact", True),
    ],
)
def test_count_satisfied(found: int, count: int, mode: Mode, satisfied: bool) -> None:
    assert is_count_satisfied(found, count, mode) is satisfied


def test_nearest_entries_ranking() -> None:
    journal = Journal(10)
    journal.record(make_entry(1, method="PUT", status=400))
    journal.record(make_entry(2, method="GET", status=200))
    journal.record(make_entry(3, method="PUT", status=503))
    journal.record(make_entry(4, method="GET", status=500))

    nearest = nearest_entries(journal, JournalQuery(method="PUT", status=200), limit=3)

    assert [entry.seq for entry, _ in nearest] == [3, 2, 1]
    assert nearest[0][1] == (Mismatch("status", 200, 503),)


async def test_verify_reports_nearest_on_mismatch() -> None:
    journal = filled_journal(capacity=10, count=2)

    result = await verify(journal, JournalQuery(method="PUT"), 1, "exact", 0)

    assert not result.matched
    assert result.found == 0
    assert [entry.seq for entry, _ in result.nearest] == [2, 1]


async def test_verify_stops_waiting_when_count_cannot_match() -> None:
    journal = filled_journal(capacity=10, count=3)

    result = await verify(journal, JournalQuery(), 1, "at_most", 5.0)

    assert not result.matched
    assert result.waited_ms < 4000


def test_entry_validation_lists_errors_then_warnings() -> None:
    error = ApiError.of("field_required", data="connectionData", field="connectionData")
    entry = make_entry()._replace(errors=(error,), warnings=("/x: ignored",))

    validation = entry.as_dict()["validation"]

    assert validation == [
        {
            "severity": "error",
            "errorType": "invalidInput.fieldRequired",
            "message": "The field connectionData is required.",
        },
        {"severity": "warning", "errorType": None, "message": "/x: ignored"},
    ]

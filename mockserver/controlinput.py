"""Parsing and validation of the control API's inputs: filters, verify and state bodies.

Every parser raises InvalidInput naming the field, what it expects and the value it
got, so the control API can respond with 400 and a message a script author can act on.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .contracts import is_xml_text
from .journal import EPOCH, MODES, ROLES, JournalQuery, Mode, Role
from .registration import MAX_CONNECTION_DATA_BYTES

__all__ = [
    "FILTER_FIELDS",
    "MAX_WAIT_SECONDS",
    "InvalidInput",
    "VerifyRequest",
    "parse_journal_parameters",
    "parse_json_body",
    "parse_state_body",
    "parse_verify_body",
]

# Maximum time a verification may wait, in seconds, so no request hangs for long.
MAX_WAIT_SECONDS = 60.0
FILTER_FIELDS = ("role", "method", "path", "status", "since", "until")
_VERIFY_FIELDS = (*FILTER_FIELDS, "count", "mode", "wait")
_JOURNAL_PARAMETERS = (*FILTER_FIELDS, "limit")
_STATE_FIELDS = ("state", "connectionData")

_METHOD = re.compile(r"[A-Za-z]+")
_STATUS_CLASS = re.compile(r"[1-5]xx")
# 9999-12-31T23:59:59Z, the last second that datetime can show.
_MAX_EPOCH_SECONDS = 253_402_300_799
_TIME_EXPECTED = (
    "an ISO 8601 time with a zone, such as 2026-01-31T12:00:00Z, "
    "or seconds since the epoch"
)


class InvalidInput(Exception):
    """One control API input is invalid: which field, what it expects, what it got."""

    def __init__(
        self, field: str, expected: str, value: object, hint: str = ""
    ) -> None:
        self.field = field
        self.expected = expected
        self.value = value
        message = f"{field}: expected {expected}, found {value!r}"
        super().__init__(f"{message}. {hint}" if hint else message)

    @property
    def message(self) -> str:
        """Return the one-line explanation."""
        return str(self)


@dataclass(frozen=True)
class VerifyRequest:
    """A parsed verification: the filters, the expected count and how long to wait."""

    query: JournalQuery
    count: int = 1
    mode: Mode = "exact"
    # Seconds.
    wait: float = 0.0


def parse_json_body(raw: bytes) -> dict[str, Any]:
    """Parse a JSON object body. An empty body counts as an empty object."""
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput("body", "UTF-8 text", raw[:40]) from exc
    except ValueError as exc:
        raise InvalidInput("body", f"a JSON object ({exc})", _shorten(raw)) from exc
    if not isinstance(document, dict):
        raise InvalidInput("body", "a JSON object", document)
    return document


def parse_journal_parameters(
    parameters: Mapping[str, str],
) -> tuple[JournalQuery, int | None]:
    """Parse the query string of GET /_mock/journal into filters and a limit."""
    _reject_unknown(parameters, _JOURNAL_PARAMETERS, "query parameter")
    limit = None
    if "limit" in parameters:
        limit = _parse_int("limit", parameters["limit"], minimum=1)
    return _parse_filters(parameters), limit


def parse_verify_body(document: Mapping[str, object]) -> VerifyRequest:
    """Parse the JSON body of POST /_mock/verify; a null field takes its default."""
    _reject_unknown(document, _VERIFY_FIELDS, "field")
    query = _parse_filters(document)
    count_value = document.get("count")
    count = 1 if count_value is None else _parse_int("count", count_value, minimum=0)
    mode = document.get("mode")
    if mode is None:
        mode = "exact"
    if mode not in MODES:
        raise InvalidInput("mode", f"one of {', '.join(MODES)}", mode)
    wait_value = document.get("wait")
    wait = 0.0 if wait_value is None else _parse_number("wait", wait_value)
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise InvalidInput(
            "wait", f"seconds between 0 and {MAX_WAIT_SECONDS:g}", wait_value
        )
    return VerifyRequest(query, count, mode, wait)


def parse_state_body(document: Mapping[str, object]) -> str:
    """Parse the JSON body of PUT /_mock/state into the connectionData to store."""
    _reject_unknown(document, _STATE_FIELDS, "field")
    if not document:
        raise InvalidInput(
            "body",
            'a JSON object with "state": "notRegistered" or with "connectionData"',
            dict(document),
        )

    state = document.get("state")
    value = document.get("connectionData")
    if state is not None and state != "notRegistered":
        raise InvalidInput(
            "state",
            "notRegistered",
            state,
            hint="To register, set connectionData instead, "
            "for example a token minted by POST /_mock/connection-data.",
        )
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("connectionData", "a string", value)
    if state == "notRegistered" and value:
        raise InvalidInput(
            "connectionData",
            'an empty string or no connectionData when state is "notRegistered"',
            _shorten(value.encode()),
        )
    if len(value.encode("utf-8")) > MAX_CONNECTION_DATA_BYTES:
        raise InvalidInput(
            "connectionData",
            f"at most {MAX_CONNECTION_DATA_BYTES} bytes in UTF-8",
            _shorten(value.encode()),
        )
    if not is_xml_text(value):
        raise InvalidInput(
            "connectionData", "only characters that XML 1.0 allows", value
        )
    return value


def _parse_filters(values: Mapping[str, object]) -> JournalQuery:
    since = _parse_optional_time("since", values.get("since"))
    until = _parse_optional_time("until", values.get("until"))
    if since is not None and until is not None and since > until:
        raise InvalidInput("until", "a time at or after since", values["until"])
    return JournalQuery(
        role=_parse_role(values.get("role")),
        method=_parse_method(values.get("method")),
        path=_parse_path(values.get("path")),
        status=_parse_status(values.get("status")),
        since=since,
        until=until,
    )


def _parse_role(value: object) -> Role | None:
    if value is None:
        return None
    if value not in ROLES:
        raise InvalidInput("role", f"one of {', '.join(ROLES)}", value)
    return value


def _parse_method(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _METHOD.fullmatch(value):
        raise InvalidInput("method", "an HTTP method such as GET or PUT", value)
    return value.upper()


def _parse_path(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("/"):
        raise InvalidInput(
            "path", "a path starting with /, where * matches any characters", value
        )
    return value


def _parse_status(value: object) -> int | str | None:
    if value is None:
        return None
    expected = "an HTTP status from 100 to 599, or a class such as 4xx"
    if isinstance(value, str):
        lowered = value.strip().lower()
        if _STATUS_CLASS.fullmatch(lowered):
            return lowered
        if not lowered.isdigit():
            raise InvalidInput("status", expected, value)
        value = int(lowered)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("status", expected, value)
    if not 100 <= value <= 599:
        raise InvalidInput("status", expected, value)
    return value


def _parse_optional_time(field: str, value: object) -> int | None:
    return None if value is None else _parse_time(field, value)


def _parse_time(field: str, value: object) -> int:
    """Parse a time filter into microseconds since the epoch."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return _parse_iso_time(field, value)
    seconds = _parse_number(field, number, expected=_TIME_EXPECTED)
    if not 0 <= seconds <= _MAX_EPOCH_SECONDS:
        raise InvalidInput(field, _TIME_EXPECTED + " up to the year 9999", value)
    return round(seconds * 1_000_000)


def _parse_iso_time(field: str, value: str) -> int:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(field, _TIME_EXPECTED, value) from exc
    if moment.tzinfo is None:
        raise InvalidInput(field, _TIME_EXPECTED + " (add Z or +00:00)", value)
    return (moment - EPOCH) // timedelta(microseconds=1)


def _parse_int(field: str, value: object, *, minimum: int) -> int:
    expected = f"an integer of at least {minimum}"
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(field, expected, value)
    return value


def _parse_number(field: str, value: object, *, expected: str = "a number") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(field, expected, value)
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(field, expected, value)
    return number


def _reject_unknown(
    values: Mapping[str, object], known: tuple[str, ...], kind: str
) -> None:
    for name in values:
        if name not in known:
            raise InvalidInput(name, f"a known {kind}: {', '.join(known)}", name)


def _shorten(raw: bytes, limit: int = 60) -> str:
    text = raw.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "…"

"""Recording of every request to the mock's roles in the session's journal.

aiohttp calls an access logger once per request, after the response is written, with
the time the request took. Recording there costs a fraction of what a middleware
costs, because no extra handler wraps each request.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest

from .apierrors import ApiError
from .journal import JournalEntry, Role, role_of
from .scenario import FIRED_FAULT
from .session import CONTRACT_WARNINGS, REJECTION_ERRORS, SESSION

__all__ = ["JournalRecorder", "runner_options"]

log = logging.getLogger("mockserver.journal")


class JournalRecorder(AbstractAccessLogger):
    """Record each request to a role in its session's journal.

    Control API requests are not recorded. With the ``access_log`` setting the
    recorder also writes aiohttp's usual access log line for every request.
    """

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._lines = AccessLogger(logger, log_format)

    def log(
        self, request: BaseRequest, response: web.StreamResponse, time_taken: float
    ) -> None:
        """Record ``request`` with its response status and the seconds it took."""
        if not isinstance(request, web.Request):
            return
        try:
            session = request.app[SESSION]
            if session.settings.access_log:
                self._lines.log(request, response, time_taken)
            role = role_of(request.path)
            if role is not None:
                session.journal.record(_entry(request, response, time_taken, role))
        except Exception:
            # aiohttp would drop the connection's next requests on an error here.
            log.exception("Recording %s %s failed", request.method, request.path)


def _entry(
    request: web.Request, response: web.StreamResponse, time_taken: float, role: Role
) -> JournalEntry:
    warnings: tuple[str, ...] = ()
    errors: tuple[ApiError, ...] = ()
    fault = None
    # Most requests carry no keys, and an empty request skips three lookups.
    if request:
        warnings = request.get(CONTRACT_WARNINGS, ())
        errors = request.get(REJECTION_ERRORS, ())
        fired = request.get(FIRED_FAULT)
        if fired is not None:
            fault = f"rule {fired.rule.index}: {fired.rule!r}"
    journal = request.app[SESSION].journal
    started_us = int((time.time() - time_taken) * 1_000_000)
    return JournalEntry(
        journal.next_seq(),
        started_us,
        role,
        request.method,
        request.path,
        request.query_string,
        response.status,
        time_taken * 1000,
        warnings,
        errors,
        fault,
    )


def runner_options() -> dict[str, Any]:
    """Return the AppRunner keyword arguments that install the journal recorder."""
    return {
        "access_log_class": JournalRecorder,
        "access_log": logging.getLogger("aiohttp.access"),
    }

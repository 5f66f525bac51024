"""The fault-rule engine: decides, call by call, which fault rule fires.

``FaultEngine.fire`` never awaits, so checking a rule's conditions, counting the call
and drawing its random number happen in one step of the event loop. Concurrent
requests therefore count exactly, and the same request sequence always gives the
same faults.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml_text
from multidict import (
    CIMultiDict,
    CIMultiDictProxy,
    MultiDict,
    MultiDictProxy,
    MultiMapping,
)

from .model import Action, FaultRule, Match

__all__ = ["FaultEngine", "FiredFault", "RequestView", "matches"]

log = logging.getLogger("mockserver.faults")

# Requests that never use up a fault: probes and preflights, and the control API.
_IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
_CONTROL_PREFIX = "/_mock/"
_BUSY_TARGET = "config.put"


@dataclass(frozen=True)
class RequestView:
    """The parts of a request that fault rules look at."""

    method: str
    path: str
    headers: CIMultiDictProxy[str] = field(
        default_factory=lambda: CIMultiDictProxy(CIMultiDict())
    )
    query: MultiMapping[str] = field(
        default_factory=lambda: MultiDictProxy(MultiDict())
    )
    body: bytes | None = None

    @classmethod
    def of(
        cls,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> RequestView:
        """Build a view from plain mappings, as tests and non-HTTP targets need."""
        return cls(
            method.upper(),
            path,
            CIMultiDictProxy(CIMultiDict(headers or {})),
            MultiDictProxy(MultiDict(query or {})),
            body,
        )

    @classmethod
    def for_database_write(cls, value: str) -> RequestView:
        """Build the view of a database write: the update document it stores."""
        root = Element("contextServiceRegistration")
        SubElement(root, "connectionData").text = value
        return cls("WRITE", "database", body=tostring(root, encoding="utf-8"))

    @cached_property
    def xml_root(self) -> Element | None:
        """Return the parsed XML body, or None when it is absent or not XML."""
        if not self.body:
            return None
        try:
            root: Element = parse_xml_text(self.body)
        except (ParseError, DefusedXmlException, ValueError):
            return None
        return root

    def is_ignored(self) -> bool:
        """Tell whether the request must not use up a fault (HEAD, OPTIONS, /_mock/)."""
        return self.method in _IGNORED_METHODS or self.path.startswith(_CONTROL_PREFIX)

    def __str__(self) -> str:
        query = "&".join(f"{name}={value}" for name, value in self.query.items())
        return f"{self.method} {self.path}{'?' + query if query else ''}"


@dataclass(frozen=True)
class FiredFault:
    """A fault rule that fired on one call: the rule, the call number and more."""

    rule: FaultRule
    target: str
    # Number of this call to the target, counted by the rule from 1, or 0 for a
    # request rejected by an open busy window.
    call: int
    # Seconds the client should wait, for busy responses.
    retry_after: int | None = None
    in_busy_window: bool = False

    @property
    def action(self) -> Action:
        """Return the action of the rule that fired."""
        return self.rule.action

    def __repr__(self) -> str:
        where = "busy window" if self.in_busy_window else f"call {self.call}"
        return f"<FiredFault rule {self.rule.index} {self.target} {where}>"


class FaultEngine:
    """Hold the rule counters and random generators and decide which rule fires."""

    def __init__(
        self,
        rules: tuple[FaultRule, ...] = (),
        *,
        seed: int = 0,
        state: Callable[[], str] = lambda: "notRegistered",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rules = rules
        self._targets = frozenset(rule.target for rule in rules)
        self.seed = seed
        self._state = state
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """Restore every counter, random generator, busy window and the start time."""
        self._calls = [0] * len(self.rules)
        self._firings = [0] * len(self.rules)
        # One generator per rule, so adding a rule never shifts another rule's draws.
        self._randoms = [
            random.Random(self.seed * 1_000_003 + rule.index) for rule in self.rules
        ]
        self._started = self._clock()
        self._busy_until = 0.0
        self._busy_rule: FaultRule | None = None

    @property
    def firings(self) -> tuple[int, ...]:
        """Return how often each rule has fired, in file order."""
        return tuple(self._firings)

    @property
    def calls(self) -> tuple[int, ...]:
        """Return how many calls each rule has counted, in file order."""
        return tuple(self._calls)

    def watches(self, target: str) -> bool:
        """Tell whether any rule, or an open busy window, may fire on ``target``."""
        if target in self._targets:
            return True
        return target == _BUSY_TARGET and self._busy_rule is not None

    def busy_remaining(self) -> float:
        """Return the seconds left in the busy window, 0 when none is open."""
        return max(0.0, self._busy_until - self._clock())

    def fire(self, target: str, request: RequestView) -> FiredFault | None:
        """Count this call for every rule of ``target`` and return the first that fires.

        Returns None when no rule fires, or when the request is HEAD, OPTIONS or a
        control-API call, which never use up a fault.
        """
        if request.is_ignored():
            return None
        if target == _BUSY_TARGET and self._busy_rule is not None:
            remaining = self.busy_remaining()
            if remaining > 0:
                log.info(
                    "Busy window of fault rule %d rejected %s with 503 (%.1fs left)",
                    self._busy_rule.index,
                    request,
                    remaining,
                )
                return FiredFault(
                    self._busy_rule,
                    target,
                    0,
                    math.ceil(remaining),
                    in_busy_window=True,
                )

        fired: FiredFault | None = None
        for position, rule in enumerate(self.rules):
            if rule.target != target:
                continue
            call = self._count(position, rule, request)
            if call and fired is None:
                fired = self._fire(position, rule, target, call, request)
        return fired

    def _count(self, position: int, rule: FaultRule, request: RequestView) -> int:
        """Count the call if the rule's filters pass; return the call number if due."""
        if rule.after and self._clock() - self._started < rule.after:
            return 0
        if rule.while_state is not None and self._state() != rule.while_state:
            return 0
        if rule.match is not None and not matches(rule.match, request):
            return 0
        self._calls[position] += 1
        call = self._calls[position]
        if rule.calls is not None and not rule.calls.contains(call):
            return 0
        if rule.times is not None and self._firings[position] >= rule.times:
            return 0
        # Drawn only for calls the rule would otherwise fire on, so the draws depend
        # on the request sequence alone.
        probability = rule.probability
        if probability is not None and self._randoms[position].random() >= probability:
            return 0
        return call

    def _fire(
        self,
        position: int,
        rule: FaultRule,
        target: str,
        call: int,
        request: RequestView,
    ) -> FiredFault:
        self._firings[position] += 1
        retry_after = None
        if rule.action.busy is not None:
            self._busy_until = self._clock() + rule.action.busy
            self._busy_rule = rule
            retry_after = math.ceil(rule.action.busy)
        log.info(
            "Fault rule %d fired on call %d to %s: %s -> %s",
            rule.index,
            call,
            target,
            request,
            rule.action.describe(),
        )
        return FiredFault(rule, target, call, retry_after)


def matches(match: Match, request: RequestView) -> bool:
    """Tell whether ``request`` meets every header, query and XPath condition."""
    for name, value in match.headers:
        if request.headers.get(name) != value:
            return False
    for name, value in match.query:
        values = request.query.getall(name, [])
        # Repeated query parameters: the last value wins, as in the configuration API.
        if not values or values[-1] != value:
            return False
    if match.xpath is None:
        return True
    # NOTE: XPath conditions apply to XML bodies only, so a JSON body never matches.
    root = request.xml_root
    if root is None:
        return False
    # Imported here, because only scenarios with an XPath condition need it.
    import elementpath
    from elementpath import ElementPathError

    try:
        result = elementpath.select(root, match.xpath)
    except ElementPathError as exc:
        log.debug("XPath %r failed on %s: %s", match.xpath, request, exc)
        return False
    return bool(result)

"""The fault-rule engine: which rule fires on which call."""

from __future__ import annotations

import logging

import pytest

from mockserver.scenario import FaultEngine, RequestView, parse_scenario

GET = RequestView.of("GET", "/unifiedconfig/config/contextserviceregistration")


class FakeClock:
    """A monotonic clock that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def engine_for(faults: str, *, seed: int = 0, **options: object) -> FaultEngine:
    """Build an engine from the YAML of a ``faults:`` list."""
    scenario = parse_scenario(f"name: test\nseed: {seed}\nfaults:\n{faults}")
    return FaultEngine(scenario.faults, seed=scenario.seed, **options)  # type: ignore[arg-type]


def fired_calls(engine: FaultEngine, target: str, count: int) -> list[int | None]:
    """Return, for ``count`` calls, the index of the rule that fired or None."""
    results: list[int | None] = []
    for _ in range(count):
        fired = engine.fire(target, GET)
        results.append(None if fired is None else fired.rule.index)
    return results


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("", [0, 0, 0, 0, 0]),
        ("nth: 2", [None, 0, None, None, None]),
        ("from: 2\n    to: 3", [None, 0, 0, None, None]),
        ("from: 4", [None, None, None, 0, 0]),
        ("to: 2", [0, 0, None, None, None]),
        ("times: 2", [0, 0, None, None, None]),
        ("from: 2\n    times: 1", [None, 0, None, None, None]),
    ],
    ids=["every", "nth", "from-to", "from", "to", "times", "from-times"],
)
def test_call_conditions(when: str, expected: list[int | None]) -> None:
    engine = engine_for(
        f"  - target: config.get\n    {when}\n    action: {{status: 500}}\n"
    )

    assert fired_calls(engine, "config.get", 5) == expected


def test_rule_counts_only_its_target() -> None:
    engine = engine_for(
        "  - target: config.get\n    nth: 2\n    action: {status: 500}\n"
    )

    engine.fire("config.put", GET)
    first = engine.fire("config.get", GET)
    second = engine.fire("config.get", GET)

    assert first is None
    assert second is not None
    assert second.call == 2


@pytest.mark.parametrize(
    "request_view",
    [
        RequestView.of("HEAD", "/unifiedconfig/config/contextserviceregistration"),
        RequestView.of("OPTIONS", "/unifiedconfig/config/contextserviceregistration"),
        RequestView.of("GET", "/_mock/state"),
    ],
    ids=["head", "options", "control-api"],
)
def test_ignored_requests_never_use_up_a_fault(request_view: RequestView) -> None:
    engine = engine_for(
        "  - target: config.get\n    nth: 1\n    action: {status: 500}\n"
    )

    ignored = engine.fire("config.get", request_view)
    real = engine.fire("config.get", GET)

    assert ignored is None
    assert real is not None
    assert engine.calls == (1,)


def test_first_rule_in_file_wins_and_others_still_count() -> None:
    engine = engine_for(
        "  - target: config.get\n    nth: 1\n    action: {status: 500}\n"
        "  - target: config.get\n    nth: 1\n    action: {status: 503}\n"
        "  - target: config.get\n    nth: 2\n    action: {status: 502}\n"
    )

    assert fired_calls(engine, "config.get", 3) == [0, 2, None]
    assert engine.firings == (1, 0, 1)
    assert engine.calls == (3, 3, 3)


def test_after_waits_for_the_start_delay() -> None:
    clock = FakeClock()
    engine = engine_for(
        "  - target: config.get\n    after: 2.5\n    action: {status: 500}\n",
        clock=clock,
    )

    early = engine.fire("config.get", GET)
    clock.now += 2.5
    late = engine.fire("config.get", GET)

    assert early is None
    assert late is not None
    assert late.call == 1


def test_while_state_checks_the_registration() -> None:
    state = {"value": "notRegistered"}
    engine = engine_for(
        "  - target: config.get\n    while_state: registered\n"
        "    action: {status: 500}\n",
        state=lambda: state["value"],
    )

    before = engine.fire("config.get", GET)
    state["value"] = "registered"
    after = engine.fire("config.get", GET)

    assert before is None
    assert after is not None


@pytest.mark.parametrize(
    ("match", "request_view", "fires"),
    [
        (
            "headers: {X-Test: one}",
            RequestView.of("GET", "/", headers={"x-test": "one"}),
            True,
        ),
        (
            "headers: {X-Test: one}",
            RequestView.of("GET", "/", headers={"X-Test": "two"}),
            False,
        ),
        ("headers: {X-Test: one}", RequestView.of("GET", "/"), False),
        (
            "query: {callbackUrl: 'http://a/'}",
            RequestView.of("GET", "/", query={"callbackUrl": "http://a/"}),
            True,
        ),
        (
            "query: {callbackUrl: 'http://a/'}",
            RequestView.of("GET", "/", query={"callbackUrl": "http://b/"}),
            False,
        ),
        (
            "xpath: \"connectionData = 'bad'\"",
            RequestView.of(
                "PUT",
                "/",
                body=b"<contextServiceRegistration><connectionData>bad</connectionData>"
                b"</contextServiceRegistration>",
            ),
            True,
        ),
        (
            "xpath: \"connectionData = 'bad'\"",
            RequestView.of(
                "PUT",
                "/",
                body=b"<contextServiceRegistration><connectionData>good</connectionData>"
                b"</contextServiceRegistration>",
            ),
            False,
        ),
        ("xpath: connectionData", RequestView.of("PUT", "/", body=b"<notXml"), False),
        ("xpath: connectionData", RequestView.of("PUT", "/"), False),
    ],
    ids=[
        "header-any-case",
        "header-other-value",
        "header-missing",
        "query",
        "query-other-value",
        "xpath-true",
        "xpath-false",
        "xpath-malformed-body",
        "xpath-no-body",
    ],
)
def test_match_conditions(match: str, request_view: RequestView, fires: bool) -> None:
    engine = engine_for(
        f"  - target: config.put\n    match: {{{match}}}\n    action: {{status: 500}}\n"
    )

    fired = engine.fire("config.put", request_view)

    assert (fired is not None) is fires


def test_unmatched_calls_are_not_counted() -> None:
    engine = engine_for(
        "  - target: config.get\n    nth: 2\n    match: {headers: {X-Test: one}}\n"
        "    action: {status: 500}\n"
    )
    tagged = RequestView.of("GET", "/", headers={"X-Test": "one"})

    results = [engine.fire("config.get", view) for view in (tagged, GET, GET, tagged)]

    assert [fired is not None for fired in results] == [False, False, False, True]


def test_database_write_view_matches_xpath() -> None:
    engine = engine_for(
        "  - target: database.write\n    match: {xpath: \"connectionData = 'x'\"}\n"
        "    action: {status: 500}\n"
    )

    hit = engine.fire("database.write", RequestView.for_database_write("x"))
    miss = engine.fire("database.write", RequestView.for_database_write("y"))

    assert hit is not None
    assert miss is None


def test_probability_is_reproducible_with_the_seed() -> None:
    faults = "  - target: config.get\n    probability: 0.5\n    action: {status: 503}\n"
    first = engine_for(faults, seed=42)
    second = engine_for(faults, seed=42)
    other_seed = engine_for(faults, seed=43)

    first_run = fired_calls(first, "config.get", 40)
    second_run = fired_calls(second, "config.get", 40)
    other_run = fired_calls(other_seed, "config.get", 40)

    assert first_run == second_run
    assert first_run != other_run
    assert 5 < first_run.count(0) < 35


def test_reset_replays_the_same_answers() -> None:
    engine = engine_for(
        "  - target: config.get\n    probability: 0.3\n    times: 4\n"
        "    action: {status: 503}\n"
        "  - target: config.get\n    from: 5\n    to: 9\n    action: {status: 500}\n",
        seed=3,
    )

    first_run = fired_calls(engine, "config.get", 30)
    engine.reset()
    second_run = fired_calls(engine, "config.get", 30)

    assert first_run == second_run
    assert first_run.count(0) == 4


def test_busy_window_answers_config_put_until_it_ends() -> None:
    clock = FakeClock()
    engine = engine_for(
        "  - target: config.put\n    nth: 1\n    action: {busy: 2}\n", clock=clock
    )
    put = RequestView.of("PUT", "/")

    opening = engine.fire("config.put", put)
    clock.now += 1.2
    inside = engine.fire("config.put", put)
    clock.now += 1.0
    after = engine.fire("config.put", put)

    assert opening is not None
    assert opening.retry_after == 2
    assert inside is not None
    assert inside.in_busy_window
    assert inside.retry_after == 1
    assert after is None


def test_fired_fault_is_logged_with_rule_index(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = engine_for(
        "  - target: config.get\n    nth: 5\n    action: {status: 500}\n"
        "  - target: config.get\n    action: {status: 503}\n"
    )
    caplog.set_level(logging.INFO, logger="mockserver.faults")

    engine.fire("config.get", RequestView.of("GET", "/path", query={"a": "1"}))

    assert caplog.messages == [
        "Fault rule 1 fired on call 1 to config.get: GET /path?a=1 -> status=503"
    ]

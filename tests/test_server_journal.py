"""The request journal and verification over HTTP.

Servers here run without devices, so no sync adds entries the tests do not expect.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import (
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    update_body,
)

from mockserver.scenario import parse_scenario
from mockserver.scenario.apply import scenario_settings

Client = TestClient[web.Request, web.Application]


async def send_gets(client: Client, count: int, path: str = REGISTRATION_PATH) -> None:
    """Send ``count`` GET requests one after another, reading each response."""
    for _ in range(count):
        response = await client.get(path)
        await response.read()


async def journal_of(client: Client, query: str = "") -> dict[str, Any]:
    response = await client.get("/_mock/journal" + query)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_entry_describes_request(make_client: ClientFactory) -> None:
    client = await make_client(devices=())
    body = update_body("abc").replace(
        "</contextServiceRegistration>", "<extra/></contextServiceRegistration>"
    )
    await client.put(REGISTRATION_PATH + "?trace=1", data=body, headers=XML)

    journal = await journal_of(client)

    entry = journal["entries"][0]
    assert entry["seq"] == 1
    assert entry["role"] == "config"
    assert entry["method"] == "PUT"
    assert entry["path"] == REGISTRATION_PATH
    assert entry["query"] == "trace=1"
    assert entry["status"] == 200
    assert entry["duration_ms"] >= 0
    assert entry["time"].endswith("Z")
    assert entry["fault"] is None
    assert entry["validation"] == [
        {
            "severity": "warning",
            "errorType": None,
            "message": "/contextServiceRegistration/extra: element is not part of "
            "the resource and was ignored",
        }
    ]


async def test_entry_lists_rejection_errors(make_client: ClientFactory) -> None:
    client = await make_client(devices=())
    body = "<contextServiceRegistration><x/></contextServiceRegistration>"
    await client.put(REGISTRATION_PATH, data=body, headers=XML)

    journal = await journal_of(client)

    entry = journal["entries"][0]
    assert entry["status"] == 400
    assert entry["validation"][0]["severity"] == "error"
    assert entry["validation"][0]["errorType"].startswith("invalidInput.")


async def test_entry_lists_field_rule_errors(make_client: ClientFactory) -> None:
    client = await make_client(devices=())
    await client.put(REGISTRATION_PATH, data=update_body("first"), headers=XML)
    await client.put(REGISTRATION_PATH, data=update_body("second"), headers=XML)

    journal = await journal_of(client, "?status=400")

    validation = journal["entries"][0]["validation"]
    assert [item["errorType"] for item in validation] == [
        "invalidInput.deregisterFirst"
    ]


async def test_entry_valid_body_has_empty_validation(
    make_client: ClientFactory,
) -> None:
    client = await make_client(devices=())
    await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)

    journal = await journal_of(client)

    assert journal["entries"][0]["validation"] == []


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/unifiedconfig/config/contextservice", "config"),
        ("/unifiedconfig/config/nothing", "config"),
        ("/v1/authorize", "wizard"),
        ("/management", "wizard"),
        ("/demo/", "demo"),
        ("/_devices/cvp/contextservice", "devices"),
        ("/elsewhere", "other"),
    ],
)
async def test_journal_records_role(
    make_client: ClientFactory, path: str, role: str
) -> None:
    client = await make_client(devices=())
    await send_gets(client, 1, path)

    journal = await journal_of(client)

    assert [entry["role"] for entry in journal["entries"]] == [role]
    assert journal["entries"][0]["path"] == path


async def test_journal_skips_control_requests(make_client: ClientFactory) -> None:
    client = await make_client(devices=())
    await send_gets(client, 1, "/_mock/state")
    await send_gets(client, 1, "/_mock/health/live")

    journal = await journal_of(client)

    assert journal["entries"] == []
    assert journal["recorded"] == 0


async def test_entry_names_fired_fault(make_client: ClientFactory) -> None:
    scenario = parse_scenario(
        "name: cvp-fails\n"
        "devices: [{name: cvp-1, type: cvp}]\n"
        "faults:\n"
        "  - target: device:cvp-1\n"
        "    action: {status: 503}\n"
    )
    client = await make_client(**scenario_settings(scenario))
    await client.put(REGISTRATION_PATH, data=update_body("x"), headers=XML)

    journal = await journal_of(client)

    [device_entry] = [e for e in journal["entries"] if e["role"] == "devices"]
    assert device_entry["status"] == 503
    assert device_entry["fault"] == "rule 0: <FaultRule device:cvp-1 status=503>"


async def test_journal_bound_counts_dropped_entries(
    make_client: ClientFactory,
) -> None:
    client = await make_client(journal_size=5)
    await send_gets(client, 12)

    journal = await journal_of(client)

    assert journal["capacity"] == 5
    assert journal["stored"] == 5
    assert journal["recorded"] == 12
    assert journal["dropped"] == 7
    assert [entry["seq"] for entry in journal["entries"]] == [8, 9, 10, 11, 12]


async def test_journal_delete_clears_entries(make_client: ClientFactory) -> None:
    client = await make_client(journal_size=2)
    await send_gets(client, 3)

    cleared = await client.delete("/_mock/journal")
    journal = await journal_of(client)

    assert cleared.status == 200
    assert await cleared.json() == {"cleared": 2}
    assert journal["entries"] == []
    assert journal["dropped"] == 0
    assert journal["recorded"] == 0


async def sample_traffic(client: Client) -> None:
    """Send one GET, one accepted PUT, one rejected PUT and one unknown path."""
    await send_gets(client, 1)
    await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)
    await client.put(REGISTRATION_PATH, data="<wrong/>", headers=XML)
    await send_gets(client, 1, "/unifiedconfig/config/nothing")


@pytest.mark.parametrize(
    ("query", "seqs"),
    [
        ("", [1, 2, 3, 4]),
        ("?method=PUT", [2, 3]),
        ("?method=put", [2, 3]),
        ("?status=200", [1, 2]),
        ("?status=4xx", [3, 4]),
        ("?path=/unifiedconfig/config/nothing", [4]),
        ("?path=/unifiedconfig/*", [1, 2, 3, 4]),
        ("?role=config&method=GET", [1, 4]),
        ("?role=wizard", []),
        ("?limit=2", [3, 4]),
        ("?method=PUT&limit=1", [3]),
        ("?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00%2B00:00", [1, 2, 3, 4]),
        ("?since=2999-01-01T00:00:00Z", []),
        ("?until=946684800", []),
    ],
)
async def test_journal_filters(
    make_client: ClientFactory, query: str, seqs: list[int]
) -> None:
    client = await make_client(devices=())
    await sample_traffic(client)

    journal = await journal_of(client, query)

    assert [entry["seq"] for entry in journal["entries"]] == seqs


async def test_journal_since_entry_time(make_client: ClientFactory) -> None:
    client = await make_client(devices=())
    await send_gets(client, 1)
    first = (await journal_of(client))["entries"][0]
    await asyncio.sleep(0.01)
    await send_gets(client, 1)

    journal = await journal_of(client, f"?since={first['time']}")
    later = await journal_of(client, f"?since={time.time() + 60}")

    assert [entry["seq"] for entry in journal["entries"]] == [1, 2]
    assert later["entries"] == []
    assert later["matched"] == 0


@pytest.mark.parametrize(
    ("query", "field", "expected"),
    [
        ("?role=admin", "role", "one of config, wizard, demo, devices, other"),
        ("?method=P%20UT", "method", "an HTTP method such as GET or PUT"),
        ("?path=unifiedconfig", "path", "a path starting with /"),
        ("?status=abc", "status", "an HTTP status from 100 to 599"),
        ("?status=700", "status", "an HTTP status from 100 to 599"),
        ("?status=6xx", "status", "an HTTP status from 100 to 599"),
        ("?since=yesterday", "since", "an ISO 8601 time with a zone"),
        ("?since=2026-01-01T00:00:00", "since", "(add Z or +00:00)"),
        ("?since=nan", "since", "an ISO 8601 time with a zone"),
        ("?until=1e300", "until", "up to the year 9999"),
        ("?since=-5", "since", "up to the year 9999"),
        ("?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until", "since"),
        ("?limit=0", "limit", "an integer of at least 1"),
        ("?limit=ten", "limit", "an integer of at least 1"),
        ("?stauts=200", "stauts", "a known query parameter"),
    ],
)
async def test_journal_rejects_invalid_filter(
    make_client: ClientFactory, query: str, field: str, expected: str
) -> None:
    client = await make_client(devices=())

    response = await client.get("/_mock/journal" + query)

    assert response.status == 400
    error = (await response.json())["error"]
    assert error["field"] == field
    assert expected in error["expected"]


async def post_verify(client: Client, document: object) -> tuple[int, dict[str, Any]]:
    response = await client.post("/_mock/verify", json=document)
    body: dict[str, Any] = await response.json()
    return response.status, body


async def test_verify_match_answers_200(make_client: ClientFactory) -> None:
    client = await make_client(devices=())
    await sample_traffic(client)

    status, body = await post_verify(
        client,
        {"method": "PUT", "path": REGISTRATION_PATH, "status": 200, "count": 1},
    )

    assert status == 200
    assert body["matched"] is True
    assert body["found"] == 1
    assert body["expected"] == {
        "count": 1,
        "mode": "exact",
        "filters": {"method": "PUT", "path": REGISTRATION_PATH, "status": 200},
    }
    assert body["nearest"] == []
    assert body["dropped"] == 0


async def test_verify_mismatch_answers_422_with_nearest(
    make_client: ClientFactory,
) -> None:
    client = await make_client(devices=())
    await sample_traffic(client)

    status, body = await post_verify(client, {"method": "PUT", "status": 503})

    assert status == 422
    assert body["matched"] is False
    assert body["found"] == 0
    nearest = body["nearest"]
    assert [entry["seq"] for entry in nearest] == [3, 2, 4, 1]
    assert nearest[0]["mismatches"] == [
        {"field": "status", "expected": 503, "actual": 400}
    ]


@pytest.mark.parametrize(
    ("document", "status"),
    [
        ({}, 422),
        ({"count": 4}, 200),
        ({"method": "PUT", "count": 2, "mode": "exact"}, 200),
        ({"method": "PUT", "count": 1, "mode": "exact"}, 422),
        ({"method": "PUT", "count": 1, "mode": "at_least"}, 200),
        ({"method": "PUT", "count": 3, "mode": "at_least"}, 422),
        ({"method": "PUT", "count": 2, "mode": "at_most"}, 200),
        ({"method": "PUT", "count": 1, "mode": "at_most"}, 422),
        ({"method": "DELETE", "count": 0}, 200),
        ({"status": "4xx", "count": 2}, 200),
        ({"status": "200", "count": 2}, 200),
        ({"role": "config", "count": 4}, 200),
        ({"since": 0, "until": 4_000_000_000, "count": 4}, 200),
        ({"count": None, "mode": None, "wait": None, "role": None}, 422),
    ],
)
async def test_verify_counts(
    make_client: ClientFactory, document: dict[str, Any], status: int
) -> None:
    client = await make_client(devices=())
    await sample_traffic(client)

    answer, _ = await post_verify(client, document)

    assert answer == status


async def test_verify_empty_body_expects_one(make_client: ClientFactory) -> None:
    client = await make_client(devices=())
    await send_gets(client, 1)

    response = await client.post("/_mock/verify")

    assert response.status == 200


async def test_verify_waits_for_late_request(make_client: ClientFactory) -> None:
    client = await make_client(devices=())

    async def send_later() -> None:
        await asyncio.sleep(0.3)
        await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)

    late = asyncio.create_task(send_later())
    status, body = await post_verify(
        client, {"method": "PUT", "status": 200, "count": 1, "wait": 2}
    )
    await late

    assert status == 200
    assert body["found"] == 1
    assert 250 <= body["waited_ms"] < 2000


async def test_verify_wait_times_out_with_nearest(make_client: ClientFactory) -> None:
    client = await make_client(devices=())
    await send_gets(client, 2)

    status, body = await post_verify(client, {"method": "PUT", "wait": 0.5})

    assert status == 422
    assert body["found"] == 0
    assert body["waited_ms"] >= 500
    assert [entry["seq"] for entry in body["nearest"]] == [2, 1]
    assert body["nearest"][0]["mismatches"] == [
        {"field": "method", "expected": "PUT", "actual": "GET"}
    ]


async def test_verify_does_not_block_other_requests(
    make_client: ClientFactory,
) -> None:
    client = await make_client(devices=())

    waiting = asyncio.create_task(
        post_verify(client, {"method": "DELETE", "wait": 1.5})
    )
    await asyncio.sleep(0.1)
    state = await client.get("/_mock/state")
    answered_during_wait = not waiting.done()
    status, body = await waiting

    assert state.status == 200
    assert answered_during_wait
    assert status == 422
    assert body["waited_ms"] >= 1500


async def test_verify_reports_dropped_entries(make_client: ClientFactory) -> None:
    client = await make_client(journal_size=2)
    await send_gets(client, 5)

    _, body = await post_verify(client, {"count": 2})

    assert body["dropped"] == 3


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        (b"{not json", "body", "a JSON object"),
        (b'"PUT"', "body", "a JSON object"),
        (b'{"mode": "sometimes"}', "mode", "one of exact, at_least, at_most"),
        (b'{"mode": ""}', "mode", "one of exact, at_least, at_most"),
        (b'{"count": -1}', "count", "an integer of at least 0"),
        (b'{"count": 1.5}', "count", "an integer of at least 0"),
        (b'{"count": true}', "count", "an integer of at least 0"),
        (b'{"wait": 61}', "wait", "seconds between 0 and 60"),
        (b'{"wait": -1}', "wait", "seconds between 0 and 60"),
        (b'{"wait": "2"}', "wait", "a number"),
        (b'{"wait": NaN}', "wait", "a number"),
        (b'{"status": 700}', "status", "an HTTP status from 100 to 599"),
        (b'{"status": "abc"}', "status", "an HTTP status from 100 to 599"),
        (b'{"role": "cloud"}', "role", "one of config, wizard"),
        (b'{"method": 5}', "method", "an HTTP method"),
        (b'{"path": "contextservice"}', "path", "a path starting with /"),
        (b'{"since": "2026-01-01"}', "since", "(add Z or +00:00)"),
        (b'{"since": [1]}', "since", "an ISO 8601 time with a zone"),
        (b'{"metod": "PUT"}', "metod", "a known field"),
    ],
)
async def test_verify_rejects_invalid_body(
    make_client: ClientFactory, body: bytes, field: str, expected: str
) -> None:
    client = await make_client(devices=())

    response = await client.post("/_mock/verify", data=body)

    assert response.status == 400
    error = (await response.json())["error"]
    assert error["field"] == field
    assert expected in error["expected"]

"""No input makes the configuration API fail with 500 or change state on an error.

Hypothesis generates request bodies, content types and query strings; every one is
sent over HTTP to one real server. Hypothesis only draws the examples, because its
test functions cannot await. The test then sends them and reports every failing input
at once, not a shrunk one. The example counts are bounded so the whole
file runs in a few seconds.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import REGISTRATION_PATH, ClientFactory, session_of_client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Client = TestClient[web.Request, web.Application]

# Statuses an update may get when no fault rule is scripted.
UPDATE_STATUSES = {200, 201, 400, 413, 415, 503}

CONTENT_TYPES = st.sampled_from(
    [
        "application/xml",
        "text/xml; charset=utf-8",
        "application/json",
        "application/xml; charset=latin-1",
        "text/plain",
        "",
    ]
)
XML_FRAGMENTS = st.sampled_from(
    [
        "<contextServiceRegistration>",
        "</contextServiceRegistration>",
        "<connectionData>",
        "</connectionData>",
        "<connectionData/>",
        "<state>registered</state>",
        "<![CDATA[",
        "]]>",
        "<!DOCTYPE r [<!ENTITY e 'x'>]>",
        "&e;",
        "&amp;",
        '<?xml version="1.0"?>',
        "\ufeff",
        "\x00",
        "é",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(XML_FRAGMENTS, st.text(max_size=20)), max_size=12).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
    st.dictionaries(
        st.sampled_from(["connectionData", "state", "refURL", "x"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=30), st.booleans()),
    ).map(lambda document: repr(document).replace("'", '"').encode()),
)


async def test_no_update_body_fails_with_500(make_client: ClientFactory) -> None:
    client = await make_client()
    store = session_of_client(client).store
    failures: list[str] = []

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def check(body: bytes, content_type: str) -> None:
        examples.append((body, content_type))

    examples: list[tuple[bytes, str]] = []
    check()
    for body, content_type in examples:
        before = store.current
        headers = {"Content-Type": content_type} if content_type else {}
        response = await client.put(REGISTRATION_PATH, data=body, headers=headers)
        await response.read()
        changed = store.current != before
        if response.status not in UPDATE_STATUSES:
            failures.append(f"{response.status} for {content_type!r} {body!r}")
        elif changed and response.status >= 300:
            failures.append(f"state changed on {response.status} for {body!r}")
        if store.current.connection_data:
            store.reset("")

    assert len(examples) > 100
    assert failures == []


async def test_no_query_fails_with_500(make_client: ClientFactory) -> None:
    client = await make_client()
    queries: list[str] = []

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["callbackUrl", "callbackurl", "x", ""]),
                st.text(max_size=40),
            ),
            max_size=3,
        )
    )
    def check(pairs: list[tuple[str, str]]) -> None:
        queries.append("&".join(f"{name}={value}" for name, value in pairs))

    check()
    statuses = set()
    for query in queries:
        response = await client.get(REGISTRATION_PATH, params=_params(query))
        await response.read()
        statuses.add(response.status)

    assert len(queries) > 100
    assert statuses <= {200, 400}


def _params(query: str) -> list[tuple[str, str]]:
    pairs = []
    for item in query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((name, value))
    return pairs

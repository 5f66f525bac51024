"""PUT of the registration resource: field rules, outcomes and bad input."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from xml.etree.ElementTree import fromstring

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import (
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    session_of_client,
    update_body,
)

STORED = "c3RvcmVkLXZhbHVl"

Client = TestClient[web.Request, web.Application]


def error_fields(xml: str) -> list[dict[str, str]]:
    """Return each apiError's children as a dict."""
    root = fromstring(xml)
    assert root.tag == "apiErrors"
    return [{child.tag: child.text or "" for child in error} for error in root]


async def stored_value(client: Client) -> str:
    """Return the connectionData the server holds."""
    return session_of_client(client).store.current.connection_data


@pytest.fixture
async def registered(make_client: ClientFactory) -> Client:
    """Return a client whose server stores STORED."""
    client = await make_client()
    session_of_client(client).store.reset(STORED)
    return client


async def test_put_registers(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)

    assert response.status == 200
    assert await response.text() == "Successfully saved"
    assert await stored_value(client) == "abc"


async def test_put_accepts_4096_bytes(make_client: ClientFactory) -> None:
    client = await make_client()
    value = "a" * 4096

    response = await client.put(REGISTRATION_PATH, data=update_body(value), headers=XML)

    assert response.status == 200
    assert await stored_value(client) == value


@pytest.mark.parametrize(
    "value",
    ["a" * 4097, "é" * 2049],
    ids=["4097-ascii", "4098-bytes-in-2049-chars"],
)
async def test_put_rejects_over_4096_bytes(
    make_client: ClientFactory, value: str
) -> None:
    client = await make_client()

    response = await client.put(REGISTRATION_PATH, data=update_body(value), headers=XML)

    assert response.status == 400
    assert error_fields(await response.text()) == [
        {
            "errorData": "connectionData",
            "errorDetail": "max=4096",
            "errorMessage": "The field connectionData is longer than 4096 bytes "
            "in UTF-8.",
            "errorType": "invalidInput.fieldLengthExceeded",
        }
    ]
    assert await stored_value(client) == ""


async def test_put_requires_connection_data(make_client: ClientFactory) -> None:
    client = await make_client()
    body = (
        "<contextServiceRegistration><state>registered</state>"
        "</contextServiceRegistration>"
    )

    response = await client.put(REGISTRATION_PATH, data=body, headers=XML)

    assert response.status == 400
    assert error_fields(await response.text()) == [
        {
            "errorData": "connectionData",
            "errorMessage": "The field connectionData is required.",
            "errorType": "invalidInput.fieldRequired",
        }
    ]


@pytest.mark.parametrize(
    "body",
    [
        update_body(""),
        "<contextServiceRegistration><connectionData/></contextServiceRegistration>",
    ],
    ids=["empty-element", "self-closing"],
)
async def test_put_empty_value_deregisters(registered: Client, body: str) -> None:
    response = await registered.put(REGISTRATION_PATH, data=body, headers=XML)
    get = await registered.get(REGISTRATION_PATH)

    assert response.status == 200
    assert await stored_value(registered) == ""
    assert "<state>notRegistered</state>" in await get.text()


async def test_put_other_value_says_deregister_first(registered: Client) -> None:
    response = await registered.put(
        REGISTRATION_PATH, data=update_body("other"), headers=XML
    )

    assert response.status == 400
    [error] = error_fields(await response.text())
    assert error["errorType"] == "invalidInput.deregisterFirst"
    assert error["errorData"] == "connectionData"
    assert error["errorMessage"].startswith("Deregister before reregistering")
    assert await stored_value(registered) == STORED


async def test_put_same_value_changes_nothing(registered: Client) -> None:
    version = session_of_client(registered).store.current.version

    response = await registered.put(
        REGISTRATION_PATH, data=update_body(STORED), headers=XML
    )

    assert response.status == 200
    assert session_of_client(registered).store.current.version == version


async def test_put_database_failure_changes_nothing(make_client: ClientFactory) -> None:
    client = await make_client(fail_database_writes=True)

    response = await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)

    assert response.status == 500
    assert error_fields(await response.text()) == [
        {
            "errorMessage": "The configuration update to the database failed; "
            "nothing was changed.",
            "errorType": "DATABASE_ERROR",
        }
    ]
    assert await stored_value(client) == ""


JAVA_TOOLKIT_BODY = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    "<contextServiceRegistration>"
    "<changeStamp>7</changeStamp>"
    "<refURL>/unifiedconfig/config/contextserviceregistration</refURL>"
    "<connectionData>from-java</connectionData>"
    "<department><refURL>/unifiedconfig/config/department/5000</refURL>"
    "<name>Sales</name></department>"
    "<managementUrl>https://cloud.example.com/manage</managementUrl>"
    "<permissionInfo><canUpdate>true</canUpdate>"
    "<departmentAdmin>false</departmentAdmin><role>Administrator</role>"
    "</permissionInfo>"
    "<state>notRegistered</state>"
    "<correlationId>abc-123</correlationId>"
    "</contextServiceRegistration>"
)


async def test_put_accepts_whole_bean(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client()

    with caplog.at_level(logging.WARNING, logger="mockserver"):
        response = await client.put(
            REGISTRATION_PATH, data=JAVA_TOOLKIT_BODY, headers=XML
        )

    assert response.status == 200
    assert await stored_value(client) == "from-java"
    assert not [
        record for record in caplog.records if record.levelno >= logging.WARNING
    ]


async def test_put_unknown_element_is_warning(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client()
    body = (
        "<contextServiceRegistration><connectionData>abc</connectionData>"
        "<extraField>1</extraField></contextServiceRegistration>"
    )

    with caplog.at_level(logging.WARNING, logger="mockserver"):
        response = await client.put(REGISTRATION_PATH, data=body, headers=XML)

    assert response.status == 200
    assert await stored_value(client) == "abc"
    assert [record.getMessage() for record in caplog.records] == [
        f"Contract warning on PUT {REGISTRATION_PATH}: /contextServiceRegistration/"
        "extraField: element is not part of the resource and was ignored"
    ]


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (update_body("<![CDATA[a+b/c=]]>"), "a+b/c="),
        (update_body("a&amp;b&lt;c"), "a&b<c"),
        (update_body("&#97;&#x62;"), "ab"),
    ],
    ids=["cdata", "escaped", "character-references"],
)
async def test_put_reads_text_forms(
    make_client: ClientFactory, body: str, value: str
) -> None:
    client = await make_client()

    response = await client.put(REGISTRATION_PATH, data=body, headers=XML)

    assert response.status == 200
    assert await stored_value(client) == value


@pytest.mark.parametrize(
    ("content_type", "raw", "value"),
    [
        ("application/xml", b"\xef\xbb\xbf" + update_body("bom").encode(), "bom"),
        ("application/xml", update_body("é-utf8").encode(), "é-utf8"),
        ("text/xml; charset=utf-8", update_body("é-text").encode(), "é-text"),
        (
            "application/xml; charset=ISO-8859-1",
            update_body("é-latin1").encode("latin-1"),
            "é-latin1",
        ),
    ],
    ids=["bom", "no-charset", "text-xml", "latin-1"],
)
async def test_put_decodes_body(
    make_client: ClientFactory, content_type: str, raw: bytes, value: str
) -> None:
    client = await make_client()

    response = await client.put(
        REGISTRATION_PATH, data=raw, headers={"Content-Type": content_type}
    )

    assert response.status == 200
    assert await stored_value(client) == value


async def test_put_json_body(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.put(
        REGISTRATION_PATH,
        json={"connectionData": "from-json", "state": "notRegistered"},
    )

    assert response.status == 200
    assert await stored_value(client) == "from-json"


@pytest.mark.parametrize(
    ("body", "error_type", "error_data"),
    [
        ("{}", "invalidInput.fieldRequired", "connectionData"),
        ('{"connectionData": null}', "invalidInput.schemaViolation", "connectionData"),
        ('{"connectionData": 5}', "invalidInput.schemaViolation", "connectionData"),
        ('["connectionData"]', "invalidInput.malformedBody", None),
        (
            '{"connectionData": "a", "connectionData": "b"}',
            "invalidInput.malformedBody",
            None,
        ),
        (
            '{"connectionData": "nul\\u0000"}',
            "invalidInput.invalidCharacters",
            "connectionData",
        ),
        ("{not json", "invalidInput.malformedBody", None),
    ],
    ids=[
        "missing",
        "null",
        "number",
        "array",
        "duplicate-key",
        "nul-char",
        "malformed",
    ],
)
async def test_put_json_rejects_bad_body(
    registered: Client, body: str, error_type: str, error_data: str | None
) -> None:
    response = await registered.put(
        REGISTRATION_PATH,
        data=body,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    document = await response.json()

    assert response.status == 400
    [error] = document["apiErrors"]["apiError"]
    assert error["errorType"] == error_type
    assert error.get("errorData") == error_data
    assert await stored_value(registered) == STORED


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<contextServiceRegistration><connectionData>&lol3;</connectionData>"
    "</contextServiceRegistration>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<contextServiceRegistration><connectionData>&xxe;</connectionData>"
    "</contextServiceRegistration>"
)
EXTERNAL_DTD = (
    '<?xml version="1.0"?><!DOCTYPE contextServiceRegistration SYSTEM '
    '"http://127.0.0.1:9/evil.dtd"><contextServiceRegistration>'
    "<connectionData>x</connectionData></contextServiceRegistration>"
)


@pytest.mark.parametrize(
    ("raw", "status", "error_type"),
    [
        (BILLION_LAUGHS.encode(), 400, "invalidInput.forbiddenXml"),
        (XXE.encode(), 400, "invalidInput.forbiddenXml"),
        (EXTERNAL_DTD.encode(), 400, "invalidInput.forbiddenXml"),
        (
            b"<contextServiceRegistration><connectionData>x",
            400,
            "invalidInput.malformedBody",
        ),
        (b"", 400, "invalidInput.malformedBody"),
        (b"not xml at all", 400, "invalidInput.malformedBody"),
        (update_body("\xff").encode("latin-1"), 400, "invalidInput.invalidEncoding"),
        (
            b'<contextServiceRegistration xmlns="urn:other">'
            b"<connectionData>x</connectionData></contextServiceRegistration>",
            400,
            "invalidInput.schemaViolation",
        ),
        (
            b"<registration><connectionData>x</connectionData></registration>",
            400,
            "invalidInput.schemaViolation",
        ),
        (
            b"<contextServiceRegistration><connectionData>a</connectionData>"
            b"<connectionData>b</connectionData></contextServiceRegistration>",
            400,
            "invalidInput.schemaViolation",
        ),
        (
            b"<contextServiceRegistration><connectionData><b>x</b></connectionData>"
            b"</contextServiceRegistration>",
            400,
            "invalidInput.schemaViolation",
        ),
    ],
    ids=[
        "billion-laughs",
        "xxe",
        "external-dtd",
        "truncated",
        "empty-body",
        "not-xml",
        "invalid-utf8",
        "foreign-namespace",
        "wrong-root",
        "duplicate-field",
        "element-inside-value",
    ],
)
async def test_put_rejects_bad_xml(
    registered: Client, raw: bytes, status: int, error_type: str
) -> None:
    response = await registered.put(REGISTRATION_PATH, data=raw, headers=XML)

    assert response.status == status
    assert [error["errorType"] for error in error_fields(await response.text())] == [
        error_type
    ]
    assert await stored_value(registered) == STORED


async def test_put_schema_violation_names_path(registered: Client) -> None:
    raw = (
        "<contextServiceRegistration><connectionData><b>x</b></connectionData>"
        "</contextServiceRegistration>"
    )

    response = await registered.put(REGISTRATION_PATH, data=raw, headers=XML)

    [error] = error_fields(await response.text())
    assert error["errorData"] == "connectionData"
    assert error["errorMessage"].startswith(
        "/contextServiceRegistration/connectionData: "
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/xml; charset=no-such-charset",
    ],
    ids=["plain", "form", "octet-stream", "unknown-charset"],
)
async def test_put_rejects_content_type(registered: Client, content_type: str) -> None:
    response = await registered.put(
        REGISTRATION_PATH,
        data=update_body("").encode(),
        headers={"Content-Type": content_type},
    )

    assert response.status == 415
    [error] = error_fields(await response.text())
    assert error["errorType"] == "invalidInput.unsupportedMediaType"
    assert await stored_value(registered) == STORED


async def test_put_rejects_large_body(make_client: ClientFactory) -> None:
    client = await make_client(max_body_size=2048)
    padding = "<!-- " + "x" * 3000 + " -->"

    response = await client.put(
        REGISTRATION_PATH, data=padding + update_body("abc"), headers=XML
    )

    assert response.status == 413
    [error] = error_fields(await response.text())
    assert error["errorType"] == "invalidInput.bodyTooLarge"
    assert error["errorMessage"] == "The request body is larger than 2048 bytes."
    assert await stored_value(client) == ""


async def test_put_rejects_large_chunked_body(make_client: ClientFactory) -> None:
    client = await make_client(max_body_size=2048)

    async def chunks() -> AsyncIterator[bytes]:
        yield b"<contextServiceRegistration><connectionData>"
        for _ in range(64):
            yield b"a" * 1024
        yield b"</connectionData></contextServiceRegistration>"

    response = await client.put(REGISTRATION_PATH, data=chunks(), headers=XML)

    assert response.status == 413
    assert await stored_value(client) == ""


async def test_put_accepts_small_chunked_body(make_client: ClientFactory) -> None:
    client = await make_client()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"<contextServiceRegistration><connectionData>"
        yield b"chunked"
        yield b"</connectionData></contextServiceRegistration>"

    response = await client.put(REGISTRATION_PATH, data=chunks(), headers=XML)

    assert response.status == 200
    assert await stored_value(client) == "chunked"

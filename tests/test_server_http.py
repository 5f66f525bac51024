"""HTTP behaviour of the configuration API: auth, methods, CORS, negotiation, 404."""

from __future__ import annotations

from xml.etree.ElementTree import fromstring

import pytest
from aiohttp import encode_basic_auth
from conftest import (
    CONFIG_PATH,
    REGISTRATION_PATH,
    XML,
    ClientFactory,
    session_of_client,
    update_body,
)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        encode_basic_auth("administrator@example.com", "wrong"),
        encode_basic_auth("nobody@example.com", "mockserver"),
        "Bearer abc",
        "Basic not-base64!",
        "Basic",
    ],
    ids=["missing", "wrong-password", "unknown-user", "bearer", "bad-base64", "empty"],
)
async def test_request_without_valid_credentials_gets_401(
    make_client: ClientFactory, authorization: str | None
) -> None:
    client = await make_client(credentials=False)
    headers = {"Authorization": authorization} if authorization else {}

    response = await client.get(REGISTRATION_PATH, headers=headers)
    root = fromstring(await response.text())

    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == (
        'Basic realm="mockserver", charset="UTF-8"'
    )
    assert root.findtext("apiError/errorType") == "authentication.failed"


async def test_put_without_credentials_changes_nothing(
    make_client: ClientFactory,
) -> None:
    client = await make_client(credentials=False)

    response = await client.put(REGISTRATION_PATH, data=update_body("x"), headers=XML)

    assert response.status == 401
    assert session_of_client(client).store.current.connection_data == ""


@pytest.mark.parametrize(
    ("user", "password", "status"),
    [
        ("ops@corp.example", "s3cret:with:colons", 200),
        ("ops@corp.example", "s3cret", 401),
        ("administrator@example.com", "mockserver", 401),
    ],
    ids=["configured-user", "wrong-password", "default-user-replaced"],
)
async def test_configured_users(
    make_client: ClientFactory, user: str, password: str, status: int
) -> None:
    client = await make_client(
        credentials=False, users=(("ops@corp.example", "s3cret:with:colons"),)
    )

    response = await client.get(
        REGISTRATION_PATH, headers={"Authorization": encode_basic_auth(user, password)}
    )

    assert response.status == status


async def test_lowercase_basic_scheme_is_accepted(make_client: ClientFactory) -> None:
    client = await make_client(credentials=False)
    header = encode_basic_auth("administrator@example.com", "mockserver")

    response = await client.get(
        REGISTRATION_PATH, headers={"Authorization": "basic " + header.split(" ")[1]}
    )

    assert response.status == 200


async def test_no_auth_serves_without_credentials(make_client: ClientFactory) -> None:
    client = await make_client(credentials=False, auth=False)

    response = await client.get(REGISTRATION_PATH)

    assert response.status == 200


@pytest.mark.parametrize(
    "path", [REGISTRATION_PATH, CONFIG_PATH], ids=["reg", "config"]
)
async def test_head_matches_get_without_body(
    make_client: ClientFactory, path: str
) -> None:
    client = await make_client()

    get = await client.get(path)
    head = await client.head(path)

    assert head.status == 200
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert await head.read() == b""


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        (REGISTRATION_PATH, "GET, HEAD, PUT, OPTIONS"),
        (CONFIG_PATH, "GET, HEAD, OPTIONS"),
    ],
    ids=["registration", "config"],
)
async def test_options_lists_allowed_methods(
    make_client: ClientFactory, path: str, allow: str
) -> None:
    client = await make_client(credentials=False)

    response = await client.options(path)

    assert response.status == 200
    assert response.headers["Allow"] == allow
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", REGISTRATION_PATH, "GET, HEAD, PUT, OPTIONS"),
        ("DELETE", REGISTRATION_PATH, "GET, HEAD, PUT, OPTIONS"),
        ("PATCH", REGISTRATION_PATH, "GET, HEAD, PUT, OPTIONS"),
        ("PUT", CONFIG_PATH, "GET, HEAD, OPTIONS"),
        ("POST", CONFIG_PATH, "GET, HEAD, OPTIONS"),
    ],
    ids=["post", "delete", "patch", "put-config", "post-config"],
)
async def test_other_methods_get_405(
    make_client: ClientFactory, method: str, path: str, allow: str
) -> None:
    client = await make_client()

    response = await client.request(method, path, data=update_body("x"), headers=XML)
    root = fromstring(await response.text())

    assert response.status == 405
    assert response.headers["Allow"] == allow
    assert root.findtext("apiError/errorType") == "methodNotAllowed"
    assert session_of_client(client).store.current.connection_data == ""


async def test_cors_preflight_for_put(make_client: ClientFactory) -> None:
    client = await make_client(credentials=False, cors=True)
    origin = "http://admin.example.com:3000"

    response = await client.options(
        REGISTRATION_PATH,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == (
        "authorization, content-type"
    )
    assert response.headers["Vary"] == "Origin"


async def test_cors_headers_on_error_response(make_client: ClientFactory) -> None:
    client = await make_client(credentials=False, cors=True)

    response = await client.get(
        REGISTRATION_PATH, headers={"Origin": "http://admin.example.com"}
    )

    assert response.status == 401
    assert response.headers["Access-Control-Allow-Origin"] == "http://admin.example.com"
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize(
    "path",
    [
        "/unifiedconfig/config",
        "/unifiedconfig/config/",
        "/unifiedconfig/config/contextserviceregistrations",
        "/unifiedconfig/config/contextserviceregistration/",
        "/unifiedconfig/config/agent/5000",
    ],
    ids=["base", "base-slash", "plural", "trailing-slash", "other-resource"],
)
async def test_unknown_path_gets_404_with_known_paths(
    make_client: ClientFactory, path: str
) -> None:
    client = await make_client()

    response = await client.get(path)
    [error] = fromstring(await response.text())

    assert response.status == 404
    assert error.findtext("errorType") == "notFound.resource"
    assert error.findtext("errorData") == path
    assert REGISTRATION_PATH in (error.findtext("errorMessage") or "")


async def test_unknown_path_needs_credentials(make_client: ClientFactory) -> None:
    client = await make_client(credentials=False)

    response = await client.get("/unifiedconfig/config/agent")

    assert response.status == 401


@pytest.mark.parametrize(
    ("headers", "content_type"),
    [
        ({}, "application/xml"),
        ({"Accept": "*/*"}, "application/xml"),
        ({"Accept": "application/xml"}, "application/xml"),
        ({"Accept": "application/json"}, "application/json"),
        ({"Accept": "application/json, */*"}, "application/json"),
        ({"Accept": "application/xml, application/json"}, "application/xml"),
        ({"Accept": "application/xml;q=0.5, application/json"}, "application/json"),
        ({"Accept": "application/json;q=0.1, */*"}, "application/xml"),
        (
            {"Accept": "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"},
            "application/xml",
        ),
        (
            {
                "Accept": "text/html,application/xhtml+xml,"
                "application/xml;q=0.9,*/*;q=0.8"
            },
            "application/xml",
        ),
        ({"Accept": "APPLICATION/JSON"}, "application/json"),
    ],
    ids=[
        "none",
        "wildcard",
        "xml",
        "json",
        "json-then-wildcard",
        "xml-first",
        "json-ranked-higher",
        "json-ranked-lower",
        "java-default",
        "browser",
        "uppercase",
    ],
)
async def test_content_negotiation(
    make_client: ClientFactory, headers: dict[str, str], content_type: str
) -> None:
    client = await make_client()

    response = await client.get(REGISTRATION_PATH, headers=headers)

    assert response.status == 200
    assert response.content_type == content_type


async def test_json_body_gets_json_errors(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.put(REGISTRATION_PATH, json={})

    assert response.content_type == "application/json"
    assert (await response.json())["apiErrors"]["apiError"][0]["errorType"] == (
        "invalidInput.fieldRequired"
    )


async def test_encoded_query_in_path_is_explained(make_client: ClientFactory) -> None:
    client = await make_client()
    path = REGISTRATION_PATH + "%3FcallbackUrl=http%3A%2F%2Flocalhost%2Fcb"

    response = await client.get(path)
    [error] = fromstring(await response.text())

    assert response.status == 404
    assert error.findtext("errorType") == "notFound.resource"
    assert "arrived percent-encoded as %3F" in (error.findtext("errorMessage") or "")

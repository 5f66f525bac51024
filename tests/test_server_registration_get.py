"""GET of the registration resource: the state / URL table, profiles and formats."""

from __future__ import annotations

from urllib.parse import quote
from xml.etree.ElementTree import fromstring

import pytest
from conftest import CONFIG_PATH, REGISTRATION_PATH, ClientFactory, session_of_client

CALLBACK = "https://admin.example.com/cs/callback?tab=1&x=%2F"


def child_names(xml: str) -> list[str]:
    """Return the tag names of the root's children, in document order."""
    return [child.tag for child in fromstring(xml)]


@pytest.mark.parametrize(
    ("stored", "valid", "callback", "state", "present"),
    [
        ("", True, None, "notRegistered", []),
        ("", True, CALLBACK, "notRegistered", ["registrationUrl"]),
        ("token", True, None, "registered", ["managementUrl"]),
        ("token", True, CALLBACK, "registered", ["managementUrl", "deregistrationUrl"]),
        ("token", False, None, "invalid", []),
        ("token", False, CALLBACK, "invalid", ["registrationUrl"]),
    ],
    ids=[
        "not-registered",
        "not-registered-callback",
        "registered",
        "registered-callback",
        "invalid",
        "invalid-callback",
    ],
)
async def test_get_follows_state_table(
    make_client: ClientFactory,
    stored: str,
    valid: bool,
    callback: str | None,
    state: str,
    present: list[str],
) -> None:
    client = await make_client()
    store = session_of_client(client).store
    store.reset(stored)
    store.checker = lambda value: valid
    params = {"callbackUrl": callback} if callback else {}

    response = await client.get(REGISTRATION_PATH, params=params)
    root = fromstring(await response.text())

    assert response.status == 200
    assert response.content_type == "application/xml"
    assert root.findtext("state") == state
    urls = {"managementUrl", "registrationUrl", "deregistrationUrl"}
    assert sorted(tag for tag in child_names(await response.text()) if tag in urls) == (
        sorted(present)
    )
    assert root.findtext("refURL") == CONFIG_PATH


async def test_get_builds_urls_from_public_url(make_client: ClientFactory) -> None:
    client = await make_client(
        public_url="https://mock.example.com:9443/", accept_any_connection_data=True
    )
    session_of_client(client).store.reset("token")

    registered = await client.get(REGISTRATION_PATH, params={"callbackUrl": CALLBACK})
    root = fromstring(await registered.text())

    encoded = quote(CALLBACK, safe="")
    assert root.findtext("managementUrl") == "https://mock.example.com:9443/management"
    assert root.findtext("deregistrationUrl") == (
        f"https://mock.example.com:9443/v1/unauthorize?callbackUrl={encoded}"
    )


async def test_get_registration_url_encodes_callback(
    make_client: ClientFactory,
) -> None:
    client = await make_client(public_url="http://localhost:8080")

    response = await client.get(REGISTRATION_PATH, params={"callbackUrl": CALLBACK})

    root = fromstring(await response.text())
    assert root.findtext("registrationUrl") == (
        "http://localhost:8080/v1/authorize?callbackUrl="
        "https%3A%2F%2Fadmin.example.com%2Fcs%2Fcallback%3Ftab%3D1%26x%3D%252F"
        "&appType=custom"
    )


async def test_get_repeated_callback_last_wins(make_client: ClientFactory) -> None:
    client = await make_client(public_url="http://localhost:8080")
    query = (
        "callbackUrl=http%3A%2F%2Ffirst.example.com"
        "&callbackUrl=http%3A%2F%2Flast.example.com"
    )

    response = await client.get(f"{REGISTRATION_PATH}?{query}")

    url = fromstring(await response.text()).findtext("registrationUrl") or ""
    assert url.endswith("callbackUrl=http%3A%2F%2Flast.example.com&appType=custom")


@pytest.mark.parametrize(
    "callback",
    [
        "",
        "/relative/callback",
        "javascript:alert(1)",
        "ftp://files.example.com/x",
        "http://",
        "example.com/callback",
        "http://[::1",
    ],
    ids=["empty", "relative", "javascript", "ftp", "no-host", "no-scheme", "bad-ipv6"],
)
async def test_get_rejects_invalid_callback(
    make_client: ClientFactory, callback: str
) -> None:
    client = await make_client()

    response = await client.get(REGISTRATION_PATH, params={"callbackUrl": callback})
    root = fromstring(await response.text())

    assert response.status == 400
    assert root.findtext("apiError/errorType") == "invalidInput.invalidUrl"
    assert root.findtext("apiError/errorData") == "callbackUrl"


async def test_get_documented_profile_order(make_client: ClientFactory) -> None:
    client = await make_client(accept_any_connection_data=True)
    session_of_client(client).store.reset("token")

    response = await client.get(REGISTRATION_PATH, params={"callbackUrl": CALLBACK})

    assert child_names(await response.text()) == [
        "state",
        "managementUrl",
        "deregistrationUrl",
        "refURL",
    ]


async def test_get_observed_profile_order(make_client: ClientFactory) -> None:
    client = await make_client(profile="observed", accept_any_connection_data=True)
    session_of_client(client).store.reset("token")

    response = await client.get(REGISTRATION_PATH, params={"callbackUrl": CALLBACK})
    root = fromstring(await response.text())

    assert child_names(await response.text()) == [
        "refURL",
        "deregistrationUrl",
        "managementUrl",
        "permissionInfo",
        "state",
    ]
    assert root.findtext("refURL") == REGISTRATION_PATH
    assert root.findtext("permissionInfo/canUpdate") == "true"
    assert root.findtext("permissionInfo/departmentAdmin") == "false"
    assert root.findtext("permissionInfo/role") == "Administrator"


async def test_get_json_uses_same_field_names(make_client: ClientFactory) -> None:
    client = await make_client(public_url="http://localhost:8080")

    response = await client.get(
        REGISTRATION_PATH,
        params={"callbackUrl": "http://localhost/cb"},
        headers={"Accept": "application/json"},
    )

    assert response.content_type == "application/json"
    assert await response.json() == {
        "state": "notRegistered",
        "registrationUrl": "http://localhost:8080/v1/authorize?"
        "callbackUrl=http%3A%2F%2Flocalhost%2Fcb&appType=custom",
        "refURL": CONFIG_PATH,
    }


async def test_get_sees_update_after_cached_read(make_client: ClientFactory) -> None:
    client = await make_client(accept_any_connection_data=True)
    first = await client.get(REGISTRATION_PATH)
    session_of_client(client).store.reset("token")

    second = await client.get(REGISTRATION_PATH)

    assert "<state>notRegistered</state>" in await first.text()
    assert "<state>registered</state>" in await second.text()


@pytest.mark.parametrize(
    ("profile", "names", "ref_first"),
    [
        (
            "documented",
            ["labMode", "maxRetries", "proxyUrl", "timeout", "refURL"],
            False,
        ),
        ("observed", ["refURL", "labMode", "maxRetries", "proxyUrl", "timeout"], True),
    ],
    ids=["documented", "observed"],
)
async def test_get_context_service_config(
    make_client: ClientFactory, profile: str, names: list[str], ref_first: bool
) -> None:
    client = await make_client(profile=profile)

    response = await client.get(CONFIG_PATH)
    text = await response.text()
    root = fromstring(text)

    assert response.status == 200
    assert root.tag == "contextServiceConfig"
    assert child_names(text) == names
    assert root.findtext("labMode") == "false"
    assert root.findtext("maxRetries") == "3"
    assert root.findtext("timeout") == "1000"
    assert root.findtext("refURL") == CONFIG_PATH


async def test_get_context_service_config_json(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.get(CONFIG_PATH, headers={"Accept": "application/json"})

    assert await response.json() == {
        "labMode": False,
        "maxRetries": 3,
        "proxyUrl": "",
        "timeout": 1000,
        "refURL": CONFIG_PATH,
    }

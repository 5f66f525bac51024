"""The control API's OpenAPI document, checked against the running server.

The tests walk the document: every documented operation is called with its
documented example, its token check and its invalid inputs, and every answer must
have a documented status and a body that validates against the documented schema.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
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
from openapi_spec_validator import validate as validate_openapi

from mockserver.admin import CONTROL_PREFIX, OPENAPI_FILE

Client = TestClient[web.Request, web.Application]

TOKEN = "openapi-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
DOCUMENT: dict[str, Any] = json.loads(OPENAPI_FILE.read_text("utf-8"))
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
OPERATIONS = [
    (path, method, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method in METHODS
]
OPERATION_IDS = [f"{method.upper()} {path}" for path, method, _ in OPERATIONS]
PROTECTED = [
    (path, method, operation)
    for path, method, operation in OPERATIONS
    if operation.get("security", DOCUMENT["security"]) != []
]
WITH_BODY = [
    (path, method, operation)
    for path, method, operation in OPERATIONS
    if "requestBody" in operation
]
PARAMETERS = [
    (path, method, operation, parameter)
    for path, method, operation in OPERATIONS
    for parameter in operation.get("parameters", [])
]


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref such as #/components/responses/BadRequest."""
    reference = node.get("$ref")
    if reference is None:
        return node
    target: Any = DOCUMENT
    for part in reference.removeprefix("#/").split("/"):
        target = target[part]
    return resolve(target)


def request_example(operation: dict[str, Any]) -> Any:
    """Return the documented request body example, or None without a body."""
    body = operation.get("requestBody")
    if body is None:
        return None
    media = body["content"]["application/json"]
    if "example" in media:
        return media["example"]
    return next(iter(media["examples"].values()))["value"]


def parameter_examples(operation: dict[str, Any]) -> dict[str, str]:
    return {
        parameter["name"]: str(parameter["example"])
        for parameter in operation.get("parameters", [])
    }


async def check_documented(
    operation: dict[str, Any], response: Any, description: str
) -> None:
    """Assert that the status is documented and the body matches its schema."""
    responses = operation["responses"]
    status = str(response.status)
    assert status in responses, (
        f"{description}: status {status} is not documented; "
        f"documented: {', '.join(responses)}; body: {await response.text()}"
    )
    documented = resolve(responses[status])
    content = documented["content"]
    assert response.content_type in content, (
        f"{description}: Content-Type {response.content_type} is not documented; "
        f"documented: {', '.join(content)}"
    )
    if response.content_type != "application/json":
        # The dashboard's page and assets are text; only their type is checked.
        assert await response.text()
        return
    schema = content["application/json"]["schema"]
    body = await response.json()
    validator = jsonschema.Draft202012Validator(
        {**schema, "components": DOCUMENT["components"]}
    )
    problems = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(body)
    ]
    assert problems == [], f"{description}: body breaks the documented schema"


async def prepare_journal(client: Client) -> None:
    """Record one accepted PUT, which the documented verify example matches."""
    response = await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)
    assert response.status == 200


def test_document_is_valid_openapi_31() -> None:
    validate_openapi(DOCUMENT)

    assert DOCUMENT["openapi"].startswith("3.1.")


async def test_served_document_is_repository_file(make_client: ClientFactory) -> None:
    client = await make_client()

    response = await client.get("/_mock/openapi.json")

    assert response.status == 200
    assert await response.json() == DOCUMENT


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=OPERATION_IDS)
async def test_operation_answers_as_documented(
    make_client: ClientFactory, path: str, method: str, operation: dict[str, Any]
) -> None:
    client = await make_client(control_token=TOKEN)
    await session_of_client(client).contracts.get()
    await prepare_journal(client)

    response = await client.request(
        method.upper(),
        path,
        params=parameter_examples(operation),
        json=request_example(operation),
        headers=BEARER,
    )

    assert response.status < 300
    await check_documented(operation, response, f"{method.upper()} {path}")


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    PROTECTED,
    ids=[f"{method.upper()} {path}" for path, method, _ in PROTECTED],
)
async def test_operation_without_token_answers_401(
    make_client: ClientFactory, path: str, method: str, operation: dict[str, Any]
) -> None:
    client = await make_client(credentials=False, control_token=TOKEN)

    response = await client.request(method.upper(), path)

    assert response.status == 401
    await check_documented(operation, response, f"{method.upper()} {path}")


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    WITH_BODY,
    ids=[f"{method.upper()} {path}" for path, method, _ in WITH_BODY],
)
async def test_operation_with_malformed_body_answers_400(
    make_client: ClientFactory, path: str, method: str, operation: dict[str, Any]
) -> None:
    client = await make_client()

    response = await client.request(method.upper(), path, data=b"{malformed")

    assert response.status == 400
    await check_documented(operation, response, f"{method.upper()} {path}")


@pytest.mark.parametrize(
    ("path", "method", "operation", "parameter"),
    PARAMETERS,
    ids=[
        f"{method.upper()} {path} {parameter['name']}"
        for path, method, _, parameter in PARAMETERS
    ],
)
async def test_operation_with_invalid_parameter_answers_400(
    make_client: ClientFactory,
    path: str,
    method: str,
    operation: dict[str, Any],
    parameter: dict[str, Any],
) -> None:
    client = await make_client()

    response = await client.request(
        method.upper(), path, params={parameter["name"]: "!invalid"}
    )

    assert response.status == 400
    await check_documented(operation, response, f"{method.upper()} {path}")
    assert (await response.json())["error"]["field"] == parameter["name"]


@pytest.mark.parametrize("path", list(DOCUMENT["paths"]))
async def test_path_serves_exactly_documented_methods(
    make_client: ClientFactory, path: str
) -> None:
    client = await make_client()
    documented = {
        method.upper() for method in DOCUMENT["paths"][path] if method in METHODS
    }

    response = await client.request("PATCH", path)

    assert response.status == 405
    served = set(response.headers["Allow"].split(", ")) - {"HEAD"}
    assert served == documented


async def test_every_control_route_is_documented(make_client: ClientFactory) -> None:
    client = await make_client()

    routes = {
        resource.canonical
        for resource in client.app.router.resources()
        if resource.canonical.startswith(CONTROL_PREFIX + "/")
        and "{" not in resource.canonical
    }

    assert routes == set(DOCUMENT["paths"])


async def test_verify_mismatch_matches_documented_422(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    await prepare_journal(client)
    operation = DOCUMENT["paths"]["/_mock/verify"]["post"]

    response = await client.post("/_mock/verify", json={"method": "DELETE"})

    assert response.status == 422
    await check_documented(operation, response, "POST /_mock/verify mismatch")
    # The journal contains the PUT and the three device updates of its sync.
    assert len((await response.json())["nearest"]) == 4


async def test_ready_failure_matches_documented_503(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    session_of_client(client).readiness_checks["devices listening"] = lambda: False
    operation = DOCUMENT["paths"]["/_mock/health/ready"]["get"]

    response = await client.get("/_mock/health/ready")

    assert response.status == 503
    await check_documented(operation, response, "GET /_mock/health/ready failing")

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from mockserver.connectiondata import (
    CACHE_SIZE,
    ORGANIZATIONS,
    TokenAuthority,
    find_organization,
)
from mockserver.registration import RegistrationStore
from mockserver.signing import Signer


def decoded_document(value: str) -> dict[str, object]:
    document = json.loads(base64.b64decode(value, validate=True))
    assert isinstance(document, dict)
    return document


def forge(value: str, **changes: object) -> str:
    """Return ``value`` with fields changed and the old signature kept."""
    document = decoded_document(value)
    document.update(changes)
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_token_is_standard_base64_of_json() -> None:
    authority = TokenAuthority()

    token = authority.mint()
    document = decoded_document(token.value)

    assert base64.b64encode(base64.b64decode(token.value)).decode() == token.value
    assert 1300 <= len(base64.b64decode(token.value)) <= 1800
    assert len(token.value.encode()) < 4096
    assert set(document) >= {
        "tokenId",
        "issuedAt",
        "organization",
        "cluster",
        "credentials",
        "labModeCredentials",
        "discoveryUrl",
        "identityUrl",
        "signature",
    }


def test_token_contains_characters_that_url_encoding_mangles() -> None:
    authority = TokenAuthority()

    values = [authority.mint().value for _ in range(20)]

    assert [set(value) >= set("+/=") for value in values] == [True] * 20


def test_token_names_only_example_hosts() -> None:
    token = TokenAuthority().mint()
    document = decoded_document(token.value)
    credentials = document["credentials"]
    assert isinstance(credentials, dict)

    hosts = [
        urlsplit(str(document["discoveryUrl"])).hostname,
        urlsplit(str(document["identityUrl"])).hostname,
        str(credentials["machineAccount"]).rpartition("@")[2],
    ]

    assert [str(host).endswith(".example") for host in hosts] == [True, True, True]


def test_token_decodes_to_its_fields() -> None:
    authority = TokenAuthority()
    organization = ORGANIZATIONS[1]

    token = authority.mint(organization=organization, issued_to="alice@example.com")
    decoded = authority.decode(token.value)

    assert decoded == token
    assert token.organization_id == organization.id
    assert token.organization_name == "Example Lab Organization"
    assert token.cluster_name == organization.cluster_name
    assert token.lab_mode is True
    assert token.issued_to == "alice@example.com"
    assert token.issued_at.endswith("Z")
    assert "signature" not in token.fields


@pytest.mark.parametrize(
    ("mangle", "live"),
    [
        (lambda value, other: value, True),
        (lambda value, other: value.replace("+", " "), False),
        (lambda value, other: value.replace("+", "-").replace("/", "_"), False),
        (lambda value, other: value.rstrip("="), False),
        (lambda value, other: value[:-8], False),
        (lambda value, other: forge(value, issuedTo="mallory@example.com"), False),
        (lambda value, other: other.mint().value, False),
        (lambda value, other: "abc", False),
        (lambda value, other: base64.b64encode(b"[1, 2]").decode(), False),
        (lambda value, other: "é" + value, False),
    ],
    ids=[
        "live",
        "plus-as-space",
        "url-safe-alphabet",
        "padding-stripped",
        "truncated",
        "forged-field",
        "other-session",
        "not-base64-json",
        "json-not-object",
        "non-ascii",
    ],
)
def test_is_live_accepts_only_own_intact_tokens(
    mangle: Callable[[str, TokenAuthority], str], live: bool
) -> None:
    authority = TokenAuthority()
    value = authority.mint().value

    verdict = authority.is_live(mangle(value, TokenAuthority()))

    assert verdict is live


def test_revocation_applies_after_cached_verdict() -> None:
    authority = TokenAuthority()
    token = authority.mint()
    assert authority.is_live(token.value)

    revoked = authority.revoke(token.value)

    assert revoked == token
    assert authority.is_live(token.value) is False
    assert authority.is_revoked(token)
    assert authority.decode(token.value) == token


def test_reset_forgets_revocations() -> None:
    authority = TokenAuthority()
    token = authority.mint()
    authority.revoke(token.value)

    authority.reset()

    assert authority.is_live(token.value)
    assert authority.cached_verdicts == 1


def test_revoke_ignores_foreign_value() -> None:
    authority = TokenAuthority()

    assert authority.revoke("abc") is None


def test_accept_any_treats_every_value_as_live() -> None:
    authority = TokenAuthority(accept_any=True)
    token = authority.mint()
    authority.revoke(token.value)

    verdicts = [authority.is_live(value) for value in ("abc", token.value, "")]

    assert verdicts == [True, True, False]


def test_verdict_cache_stays_bounded() -> None:
    authority = TokenAuthority()

    for number in range(CACHE_SIZE * 2 + 3):
        authority.is_live(f"value-{number}")

    assert 0 < authority.cached_verdicts <= CACHE_SIZE


def test_store_reports_invalid_for_revoked_token() -> None:
    authority = TokenAuthority()
    token = authority.mint()
    store = RegistrationStore(checker=authority.is_live, initial=token.value)
    before = store.state

    authority.revoke(token.value)

    assert before == "registered"
    assert store.state == "invalid"


def test_find_organization_by_id() -> None:
    assert find_organization(ORGANIZATIONS[0].id) == ORGANIZATIONS[0]
    assert find_organization("no-such-id") is None


def test_seal_round_trips_and_rejects_tampering() -> None:
    signer = Signer()
    sealed = signer.seal("form", {"callbackUrl": "http://127.0.0.1/cb"})
    body, _, signature = sealed.partition(".")
    tampered_body = base64.urlsafe_b64encode(b'{"callbackUrl":"javascript:x"}')

    assert signer.unseal("form", sealed) == {"callbackUrl": "http://127.0.0.1/cb"}
    assert signer.unseal("other-purpose", sealed) is None
    assert Signer().unseal("form", sealed) is None
    assert signer.unseal("form", f"{tampered_body.decode()}.{signature}") is None
    assert signer.unseal("form", body) is None
    assert signer.unseal("form", f"{body}.é") is None
    assert repr(signer) == "<Signer>"

"""Minting and checking connectionData tokens.

A token looks like the real cloud's connection data: standard Base64 (with ``+``,
``/`` and ``=``) of a JSON document of about 1.5 KB that contains fake credentials,
lab-mode credentials, the organisation, the discovery and identity URLs and the
cluster. The document also carries an HMAC-SHA256 signature made with the
session's secret, so the mock can tell its own live tokens from foreign, forged,
mangled or revoked ones.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from .signing import Signer

__all__ = [
    "CACHE_SIZE",
    "DEFAULT_ORGANIZATION",
    "ORGANIZATIONS",
    "ConnectionDataToken",
    "Organization",
    "TokenAuthority",
    "find_organization",
]

log = logging.getLogger("mockserver.connectiondata")

_PURPOSE = "connectionData"
_FORMAT_VERSION = 1
# Verdicts kept per distinct value. Stored values change only through updates, so a
# few entries cover every GET; the bound stops a client that sends many values.
CACHE_SIZE = 1024
# Longer values cannot be tokens this module minted; they are rejected unread.
_MAX_TOKEN_CHARS = 8192
# Fresh credentials are drawn until the Base64 text contains "+", "/" and "=", so
# clients meet the characters that URL encoding mangles. In ASCII JSON only "~", ">"
# and "?" at every third byte give "+" or "/", and "=" needs a length that is no
# multiple of 3. One draw succeeds with a probability of about 7 % (measured over
# 2000 draws), so all 256 fail together with a probability below 1e-8. The last draw
# is still a valid token then.
_MINT_ATTEMPTS = 256
_TRICKY_CHARACTERS = frozenset("+/=")
_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "~!@#$%^&*()-_=+[]{}<>?"
_NAMESPACE = uuid.UUID("6f1c9e52-0d8b-4a57-9a0e-2b7f3c1d5e40")


@dataclass(frozen=True)
class Organization:
    """A fake Context Service organisation and the cluster that serves it."""

    id: str
    name: str
    cluster_id: str
    cluster_name: str
    lab_mode: bool = False


def _organization(name: str, cluster: str, *, lab_mode: bool = False) -> Organization:
    return Organization(
        id=str(uuid.uuid5(_NAMESPACE, name)),
        name=name,
        cluster_id=str(uuid.uuid5(_NAMESPACE, cluster)),
        cluster_name=cluster,
        lab_mode=lab_mode,
    )


# The organisations the wizard offers; fixed ids keep tokens easy to compare in tests.
ORGANIZATIONS: tuple[Organization, ...] = (
    _organization("Example Contact Center", "ctx-cluster-us-east-1"),
    _organization("Example Lab Organization", "ctx-cluster-lab-1", lab_mode=True),
)
DEFAULT_ORGANIZATION = ORGANIZATIONS[0]


def find_organization(organization_id: str) -> Organization | None:
    """Return the organisation with ``organization_id``, or None if none has it."""
    for organization in ORGANIZATIONS:
        if organization.id == organization_id:
            return organization
    return None


@dataclass(frozen=True)
class ConnectionDataToken:
    """A token whose signature verified, with the fields the pages show."""

    value: str
    token_id: str
    issued_at: str
    issued_to: str
    organization_id: str
    organization_name: str
    cluster_id: str
    cluster_name: str
    lab_mode: bool
    fields: Mapping[str, Any]

    def __repr__(self) -> str:
        return (
            f"<ConnectionDataToken {self.token_id} "
            f"organization={self.organization_name!r} cluster={self.cluster_name!r}>"
        )


class TokenAuthority:
    """Mint, check and revoke the connectionData tokens of one session."""

    def __init__(self, signer: Signer | None = None, *, accept_any: bool = False):
        self.signer = signer or Signer()
        # True makes every non-empty value live, as before tokens were checked.
        self.accept_any = accept_any
        self._decoded: dict[str, ConnectionDataToken | None] = {}
        self._revoked: set[str] = set()

    def __repr__(self) -> str:
        return (
            f"<TokenAuthority accept_any={self.accept_any} "
            f"revoked={len(self._revoked)}>"
        )

    def mint(
        self,
        *,
        organization: Organization = DEFAULT_ORGANIZATION,
        issued_to: str = "administrator@example.com",
        app_type: str = "custom",
    ) -> ConnectionDataToken:
        """Issue a new live token for ``organization``."""
        value = ""
        for _ in range(_MINT_ATTEMPTS):
            value = self._encode(_document(organization, issued_to, app_type))
            if set(value) >= _TRICKY_CHARACTERS:
                break
        token = self.decode(value)
        # A token this authority has just signed always verifies.
        assert token is not None
        log.info(
            "Minted connectionData token %s for organization %r",
            token.token_id,
            organization.name,
        )
        return token

    def decode(self, value: str) -> ConnectionDataToken | None:
        """Return the token ``value`` encodes if its signature verifies, else None.

        Revoked tokens decode too, and ``is_revoked`` reports whether one is.
        """
        if value in self._decoded:
            return self._decoded[value]
        token = self._verify(value)
        if len(self._decoded) >= CACHE_SIZE:
            self._decoded.clear()
        self._decoded[value] = token
        return token

    @property
    def cached_verdicts(self) -> int:
        """Return how many values have a cached signature verdict."""
        return len(self._decoded)

    def is_live(self, value: str) -> bool:
        """Tell whether ``value`` is a token of this session that is not revoked.

        This is the registration store's ConnectionDataChecker; it runs on every GET,
        so the signature check is cached per value and only revocation is looked up.
        """
        if self.accept_any:
            return bool(value)
        token = self.decode(value)
        return token is not None and token.token_id not in self._revoked

    def is_revoked(self, token: ConnectionDataToken) -> bool:
        """Tell whether ``token`` was revoked."""
        return token.token_id in self._revoked

    def revoke(self, value: str) -> ConnectionDataToken | None:
        """Revoke the token ``value`` encodes; return it, or None if it is not ours."""
        token = self.decode(value)
        if token is None:
            return None
        if token.token_id not in self._revoked:
            # NOTE: revoked ids are kept for the life of the session. Only tokens this
            # session minted get here, so the set grows by one per revocation.
            self._revoked.add(token.token_id)
            log.info(
                "Revoked connectionData token %s of organization %r",
                token.token_id,
                token.organization_name,
            )
        return token

    def reset(self) -> None:
        """Forget every revocation and cached verdict; minted tokens stay valid."""
        self._revoked.clear()
        self._decoded.clear()

    def _encode(self, document: dict[str, Any]) -> str:
        signature = self.signer.sign(_PURPOSE, _canonical(document))
        signed = {**document, "signature": signature}
        text = json.dumps(signed, separators=(",", ":"), ensure_ascii=True)
        return base64.b64encode(text.encode("ascii")).decode("ascii")

    def _verify(self, value: str) -> ConnectionDataToken | None:
        if not value or len(value) > _MAX_TOKEN_CHARS or not value.isascii():
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error:
            return None
        # Only the canonical encoding counts, so a token cannot be re-padded or
        # re-wrapped into a second value with the same meaning.
        if base64.b64encode(raw).decode("ascii") != value:
            return None
        try:
            document = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(document, dict):
            return None
        signature = document.pop("signature", None)
        if not isinstance(signature, str):
            return None
        if not self.signer.is_signed(_PURPOSE, _canonical(document), signature):
            return None
        return _token_of(value, document)


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _token_of(value: str, document: dict[str, Any]) -> ConnectionDataToken:
    organization = document["organization"]
    cluster = document["cluster"]
    return ConnectionDataToken(
        value=value,
        token_id=document["tokenId"],
        issued_at=document["issuedAt"],
        issued_to=document["issuedTo"],
        organization_id=organization["id"],
        organization_name=organization["name"],
        cluster_id=cluster["id"],
        cluster_name=cluster["name"],
        lab_mode=document["labMode"],
        fields=MappingProxyType(document),
    )


def _document(
    organization: Organization, issued_to: str, app_type: str
) -> dict[str, Any]:
    """Build the fake connection data; every host name is under .example."""
    token_id = str(uuid.uuid4())
    issued_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": _FORMAT_VERSION,
        "tokenId": token_id,
        "issuedAt": issued_at,
        "issuedTo": issued_to,
        "appType": app_type,
        "organization": {"id": organization.id, "name": organization.name},
        "cluster": {"id": organization.cluster_id, "name": organization.cluster_name},
        "labMode": organization.lab_mode,
        "discoveryUrl": "https://discovery.context.example/discovery/v1/",
        "identityUrl": (
            f"https://identity.context.example/idb/oauth2/v1/?orgId={organization.id}"
        ),
        "credentials": _credentials(organization, "machine"),
        "labModeCredentials": _credentials(organization, "lab"),
    }


def _password() -> str:
    length = 32 + secrets.randbelow(9)
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def _credentials(organization: Organization, kind: str) -> dict[str, str]:
    account = f"ctx-{kind}-{secrets.token_hex(4)}"
    return {
        "machineAccount": f"{account}@{organization.id}.context.example",
        "password": _password(),
        "clientId": "C" + secrets.token_hex(32),
        "clientSecret": secrets.token_hex(32),
        "refreshToken": secrets.token_urlsafe(72),
    }

"""HMAC signatures with a secret that lives only as long as one session.

Each use gets its own key derived from the secret and a purpose name, so a value
signed for one purpose (a wizard form's state) never verifies for another (a
connectionData token).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from typing import Any

__all__ = ["Signer"]

_SECRET_BYTES = 32


class Signer:
    """Sign and verify bytes, and seal small JSON payloads, with one secret."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else os.urandom(_SECRET_BYTES)
        self._keys: dict[str, bytes] = {}

    def __repr__(self) -> str:
        # The secret stays out of reprs, logs and failure messages.
        return "<Signer>"

    def sign(self, purpose: str, data: bytes) -> str:
        """Return the hex HMAC-SHA256 of ``data`` under the key for ``purpose``."""
        return hmac.new(self._key(purpose), data, hashlib.sha256).hexdigest()

    def is_signed(self, purpose: str, data: bytes, signature: str) -> bool:
        """Tell whether ``signature`` is the signature of ``data`` for ``purpose``."""
        if not signature.isascii():
            return False
        return hmac.compare_digest(self.sign(purpose, data), signature)

    def seal(self, purpose: str, payload: dict[str, Any]) -> str:
        """Encode ``payload`` as URL-safe Base64 JSON followed by its signature."""
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        encoded = base64.urlsafe_b64encode(body).decode("ascii")
        return f"{encoded}.{self.sign(purpose, encoded.encode('ascii'))}"

    def unseal(self, purpose: str, sealed: str) -> dict[str, Any] | None:
        """Return the payload of a value from ``seal``, or None if it was altered."""
        encoded, dot, signature = sealed.partition(".")
        if not dot or not encoded.isascii():
            return None
        if not self.is_signed(purpose, encoded.encode("ascii"), signature):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(encoded))
        except (binascii.Error, ValueError):
            return None
        return payload if isinstance(payload, dict) else None

    def _key(self, purpose: str) -> bytes:
        key = self._keys.get(purpose)
        if key is None:
            key = hmac.new(self._secret, purpose.encode(), hashlib.sha256).digest()
            self._keys[purpose] = key
        return key

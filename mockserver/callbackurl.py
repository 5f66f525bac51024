"""Validation of the wizard's callbackUrl and byte-exact redirects back to it.

The redirect keeps the caller's URL as it was: its parameters, their order and their
percent-encoding stay untouched, the new parameter goes last in the query, and the
fragment stays at the end.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

__all__ = [
    "MAX_CALLBACK_URL_CHARS",
    "InvalidCallbackUrl",
    "add_query_parameter",
    "check_callback_url",
]

# The Location header contains the callback URL plus the percent-encoded token, about
# 3 KB at most (measured with a 128-character non-ASCII user name). This bound keeps
# it under the 8190-byte header field limit of HTTP clients such as aiohttp.
MAX_CALLBACK_URL_CHARS = 2048


class InvalidCallbackUrl(ValueError):
    """The callbackUrl is missing or not an absolute http(s) URL."""


def check_callback_url(value: str | None) -> str:
    """Return ``value`` ready for a Location header, or raise InvalidCallbackUrl.

    Spaces and non-ASCII characters are percent-encoded (as UTF-8), as a browser
    does before it follows a link. Every other character stays as sent.
    """
    if value is None or not value.strip():
        raise InvalidCallbackUrl(
            "the callbackUrl parameter is missing; pass the absolute http(s) URL "
            "the wizard returns to"
        )
    if len(value) > MAX_CALLBACK_URL_CHARS:
        raise InvalidCallbackUrl(
            f"the callbackUrl is {len(value)} characters long; "
            f"the maximum is {MAX_CALLBACK_URL_CHARS}"
        )
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in value):
        raise InvalidCallbackUrl(
            f"the callbackUrl {value!r} contains control characters"
        )
    url = "".join(
        character if "!" <= character <= "~" else quote(character, safe="")
        for character in value
    )
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:
        raise InvalidCallbackUrl(
            f"the callbackUrl {value!r} is not a valid URL: {exc}"
        ) from exc
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        raise InvalidCallbackUrl(
            f"the callbackUrl {value!r} is not an absolute http or https URL, "
            "for example https://admin.example.com/contextservice/callback"
        )
    return url


def add_query_parameter(url: str, name: str, value: str) -> str:
    """Return ``url`` with ``name=value`` added as the last query parameter.

    ``value`` is percent-encoded with no safe characters, so a Base64 ``+``, ``/``
    or ``=`` arrives intact. A URL that ends in ``?`` or ``&`` gets no second
    separator.
    """
    base, hash_sign, fragment = url.partition("#")
    if "?" not in base:
        separator = "?"
    elif base.endswith(("?", "&")):
        separator = ""
    else:
        separator = "&"
    return f"{base}{separator}{name}={quote(value, safe='')}{hash_sign}{fragment}"

from __future__ import annotations

import pytest

from mockserver.callbackurl import (
    MAX_CALLBACK_URL_CHARS,
    InvalidCallbackUrl,
    add_query_parameter,
    check_callback_url,
)

TOKEN = "eyJh+b/c=="
ENCODED_TOKEN = "eyJh%2Bb%2Fc%3D%3D"


@pytest.mark.parametrize(
    ("callback_url", "location"),
    [
        (
            "http://127.0.0.1:8080/cb",
            f"http://127.0.0.1:8080/cb?connectionData={ENCODED_TOKEN}",
        ),
        (
            "http://127.0.0.1:8080/cb?b=2&a=1",
            f"http://127.0.0.1:8080/cb?b=2&a=1&connectionData={ENCODED_TOKEN}",
        ),
        (
            "http://127.0.0.1:8080/cb?a=1#step-2",
            f"http://127.0.0.1:8080/cb?a=1&connectionData={ENCODED_TOKEN}#step-2",
        ),
        (
            "http://127.0.0.1:8080/cb#top",
            f"http://127.0.0.1:8080/cb?connectionData={ENCODED_TOKEN}#top",
        ),
        (
            "http://127.0.0.1:8080/cb?",
            f"http://127.0.0.1:8080/cb?connectionData={ENCODED_TOKEN}",
        ),
        (
            "http://127.0.0.1:8080/cb?a=1&",
            f"http://127.0.0.1:8080/cb?a=1&connectionData={ENCODED_TOKEN}",
        ),
        (
            "http://127.0.0.1:8080/cb?next=https%3A%2F%2Fadmin.example.com%2Fa%3Fb%3Dc"
            "&x=%7e+y",
            "http://127.0.0.1:8080/cb?next=https%3A%2F%2Fadmin.example.com%2Fa%3Fb%3Dc"
            f"&x=%7e+y&connectionData={ENCODED_TOKEN}",
        ),
        (
            "https://127.0.0.1:8443/cb?a=1#frag?with=query",
            f"https://127.0.0.1:8443/cb?a=1&connectionData={ENCODED_TOKEN}"
            "#frag?with=query",
        ),
    ],
    ids=[
        "plain",
        "query",
        "query-and-fragment",
        "fragment-only",
        "trailing-question-mark",
        "trailing-ampersand",
        "encoded-url-in-parameter",
        "question-mark-in-fragment",
    ],
)
def test_add_query_parameter_keeps_url_bytes(callback_url: str, location: str) -> None:
    assert add_query_parameter(callback_url, "connectionData", TOKEN) == location


def test_add_query_parameter_with_empty_value() -> None:
    location = add_query_parameter("http://127.0.0.1/cb?a=1", "connectionData", "")

    assert location == "http://127.0.0.1/cb?a=1&connectionData="


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb"),
        ("HTTPS://admin.example.com/cb?a=%2F", "HTTPS://admin.example.com/cb?a=%2F"),
        ("http://[::1]:8080/cb", "http://[::1]:8080/cb"),
        ("http://127.0.0.1/cb?name=a b", "http://127.0.0.1/cb?name=a%20b"),
        ("http://127.0.0.1/café?x=é", "http://127.0.0.1/caf%C3%A9?x=%C3%A9"),
    ],
    ids=["plain", "upper-case-scheme", "ipv6", "space", "non-ascii"],
)
def test_check_callback_url_accepts(value: str, expected: str) -> None:
    assert check_callback_url(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "the callbackUrl parameter is missing"),
        ("", "the callbackUrl parameter is missing"),
        ("javascript:alert(1)", "is not an absolute http or https URL"),
        ("/demo/callback", "is not an absolute http or https URL"),
        ("//127.0.0.1/cb", "is not an absolute http or https URL"),
        ("ftp://127.0.0.1/cb", "is not an absolute http or https URL"),
        ("http:///cb", "is not an absolute http or https URL"),
        ("http://[::1/cb", "is not a valid URL"),
        ("http://127.0.0.1/cb\r\nSet-Cookie: a=b", "contains control characters"),
        ("http://127.0.0.1/" + "a" * MAX_CALLBACK_URL_CHARS, "the maximum is 2048"),
    ],
    ids=[
        "missing",
        "empty",
        "javascript",
        "relative",
        "scheme-relative",
        "ftp",
        "no-host",
        "broken-ipv6",
        "header-injection",
        "too-long",
    ],
)
def test_check_callback_url_rejects(value: str | None, reason: str) -> None:
    with pytest.raises(InvalidCallbackUrl, match=reason.replace("(", r"\(")):
        check_callback_url(value)

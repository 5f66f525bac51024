"""The baseline: a bare aiohttp app that serves the same registration XML.

Usage: python bench/bare_app.py PORT
"""

from __future__ import annotations

import sys

from aiohttp import web

BODY = (
    b"<contextServiceRegistration><state>notRegistered</state>"
    b"<refURL>/unifiedconfig/config/contextservice</refURL>"
    b"</contextServiceRegistration>"
)


async def registration(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="application/xml", charset="utf-8")


def main() -> None:
    app = web.Application()
    app.router.add_get("/unifiedconfig/config/contextserviceregistration", registration)
    web.run_app(
        app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None
    )


if __name__ == "__main__":
    main()

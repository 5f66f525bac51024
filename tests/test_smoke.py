from __future__ import annotations

from conftest import REGISTRATION_PATH, XML, ClientFactory, update_body


async def test_register_and_read_back(make_client: ClientFactory) -> None:
    client = await make_client(accept_any_connection_data=True)

    put = await client.put(REGISTRATION_PATH, data=update_body("abc"), headers=XML)
    get = await client.get(REGISTRATION_PATH)

    assert put.status == 200
    assert "<state>registered</state>" in await get.text()

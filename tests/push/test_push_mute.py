"""A muted chat sends no Web Push until its muted_until; the person's other chats still push."""

from __future__ import annotations

from checks import register_many
from test_push import nothing_more, subscribe


async def test_a_muted_chat_sends_no_push_and_unmuted_it_pushes_again(push_server, push_service):
    sara, omid, leila = await register_many(push_server, 3)
    endpoint = push_service.url()
    browser = await subscribe(omid, endpoint)
    response = await omid.patch(f"/api/conversations/{sara.username}", json={"mute": "1h"})
    assert response.status_code == 200, response.text
    await sara.send(omid.username, "بی‌صدا")
    await leila.send(omid.username, "با صدا")  # another chat is not muted
    [push] = await push_service.wait_for(endpoint, 1)
    assert browser.decrypt(push.body)["chat"] == leila.username
    await nothing_more(push_service, endpoint, 1)
    await omid.patch(f"/api/conversations/{sara.username}", json={"mute": "off"})
    await sara.send(omid.username, "دوباره با صدا")
    await push_service.wait_for(endpoint, 2)
    await nothing_more(push_service, endpoint, 2)
    for api in (sara, omid, leila):
        await api.close()

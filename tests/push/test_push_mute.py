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


async def test_a_reaction_to_your_message_pushes_to_you_only_and_a_muted_chat_stays_quiet(push_server, push_service):
    sara, omid = await register_many(push_server, 2)
    endpoint = push_service.url()
    sara_browser = await subscribe(sara, endpoint)
    omid_endpoint = push_service.url()
    await subscribe(omid, omid_endpoint)
    sent = await sara.send(omid.username, "شام امشب؟")
    await push_service.wait_for(omid_endpoint, 1)  # the message itself, to omid

    answer = await omid.request("PUT", f"/api/messages/{sent['id']}/reaction", json={"emoji": "❤️"})
    assert answer.status_code == 200, answer.text
    [push] = await push_service.wait_for(endpoint, 1)
    payload = sara_browser.decrypt(push.body)
    assert payload["type"] == "reaction" and payload["chat"] == omid.username
    assert payload["message_id"] == sent["id"] and payload["emoji"] == "❤️"
    assert push.headers["topic"] != "" and push.headers["urgency"] == "normal"

    # sara's own reaction, a reaction taken back, and any reaction in a muted chat push nothing
    await sara.request("PUT", f"/api/messages/{sent['id']}/reaction", json={"emoji": "👍"})
    await omid.request("DELETE", f"/api/messages/{sent['id']}/reaction")
    await sara.patch(f"/api/conversations/{omid.username}", json={"mute": "always"})
    await omid.request("PUT", f"/api/messages/{sent['id']}/reaction", json={"emoji": "😂"})
    await nothing_more(push_service, endpoint, 1)
    await nothing_more(push_service, omid_endpoint, 1)
    for api in (sara, omid):
        await api.close()

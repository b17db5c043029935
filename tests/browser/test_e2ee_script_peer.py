"""The PWA and the Python client (payambar.client) in one chat: plaintext while the script has no
keys, then, once it publishes keys, every old message says "sent before encryption" and the two
implementations seal and open each other's envelopes; a second device of the script shows as
"new device" in the chat."""

from __future__ import annotations

from browser_helpers import PASSWORD, Script, message_with_text, open_chat, send, send_plaintext_by_api, unique_name
from playwright.sync_api import expect


def test_a_script_that_gets_keys_turns_the_chat_encrypted_and_both_clients_read_each_other(
    people, live_server, tmp_path
):
    script = Script()
    try:
        sara_page, sara = people.register("sara")
        bot_name = unique_name("bot")
        bot = script.client(live_server.url, tmp_path / "bot.keys")
        script.run(bot.register(bot_name, PASSWORD))
        send_plaintext_by_api(sara_page, sara, "plaintext from before", token=bot.token)  # no keys of its own yet

        open_chat(sara_page, bot_name)
        old = message_with_text(sara_page, "plaintext from before")
        expect(old.get_by_test_id("message-not-encrypted")).to_be_visible()
        expect(sara_page.get_by_test_id("e2ee-status")).to_have_attribute("data-state", "plaintext")

        script.run(bot.set_up_device())  # a keys frame tells sara's app at once
        expect(sara_page.get_by_test_id("e2ee-status")).to_have_attribute("data-state", "encrypted")
        expect(old.get_by_test_id("before-encryption")).to_be_visible()
        expect(old.get_by_test_id("message-not-encrypted")).to_have_count(0)

        script.run(bot.send_text(sara, "sealed by the script"))
        sealed = message_with_text(sara_page, "sealed by the script")
        expect(sealed).to_have_attribute("data-encrypted", "true")
        expect(sealed.get_by_test_id("before-encryption")).to_have_count(0)

        send(sara_page, "sealed by the browser")
        expect(message_with_text(sara_page, "sealed by the browser")).to_have_attribute("data-encrypted", "true")
        read = script.run(bot.history(sara))
        assert [(m.text, m.encrypted) for m in read] == [
            ("plaintext from before", False),
            ("sealed by the script", True),
            ("sealed by the browser", True),
        ]

        second = script.client(live_server.url, tmp_path / "bot-2.keys")
        script.run(second.login(bot_name, PASSWORD))
        script.run(second.set_up_device(identity_seed=bot.keystore.identity_seed))
        script.run(bot.approve(second.device_card()))
        script.run(second.publish_prekeys())
        send(sara_page, "to both devices")  # checks the keys first: a device not seen before is told
        notice = sara_page.get_by_test_id("new-device-notice")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text(bot_name)
        expect(message_with_text(sara_page, "to both devices")).to_have_attribute("data-encrypted", "true")
        assert [m.text for m in script.run(second.history(sara))][-1] == "to both devices"
        sara_page.get_by_test_id("new-device-dismiss").click()
        expect(notice).to_have_count(0)
    finally:
        script.close()

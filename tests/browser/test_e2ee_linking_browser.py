"""Linking devices in Chromium through the real server's relay (docs/e2ee.md §9, public/crypto/link.js,
public/ui/linking.js): a second browser of a person linked from the first by comparing the short
code in the app's screens, then reading what a peer sends after it joined and, with the keys the link
hands over (§14), what the first browser had read before; a
Python device approving a browser and a browser approving a Python device; and a wrong code or a
cancel leaving the person's device list as it was."""

from __future__ import annotations

import asyncio
import re

import pytest
from browser_helpers import PASSWORD, log_in, unique_name
from playwright.sync_api import expect
from test_accessibility import serious_violations

from payambar.client import Client, LinkRefused
from tests.e2ee_people import close, person

SIGN_UP = """
async ([username, password]) => {
  const api = await import('/api.js');
  const answer = await api.request('POST', '/api/auth/register', { username, password }, { authenticated: false });
  api.saveSession(answer);
  return answer.user;
}
"""

# The page's own device: made (first device), loaded, or the name of what stopped it (LinkRequired).
OPEN_DEVICE = """
async () => {
  const { E2eeClient } = await import('/crypto/client.js');
  const user = JSON.parse(localStorage.getItem('payambar.session')).user;
  window.e2ee = await E2eeClient.open({ id: user.id, username: user.username });
  try {
    return await window.e2ee.setUpDevice();
  } catch (error) {
    return error.name;
  }
}
"""

# What the app does on LinkRequired: the link screen over the page.
LINK_SCREEN = """
async () => {
  const { showLinkScreen } = await import('/ui/linking.js');
  window.linked = null;
  window.linkScreen = showLinkScreen(window.e2ee, document.body, {
    onLinked: () => (window.linked = 'linked'),
    onReset: () => (window.linked = 'reset'),
  });
}
"""

HISTORY = """
async (peer) => (await window.e2ee.history(peer)).map((m) => ({
  text: m.text, error: m.error ? String(m.error) : null,
}))
"""

OWN_DEVICES = """
async (me) => {
  const answer = await window.e2ee.request('GET', `/api/users/${me}/keys`);
  return { version: answer.device_list.version, devices: answer.device_list.devices.map((d) => d.device_id) };
}
"""


def texts(read) -> list:
    return [m["text"] if isinstance(m, dict) else m.text for m in read]


def signed_up_browser(people) -> tuple:
    page = people.open()
    page.goto("/")
    user = page.evaluate(SIGN_UP, [unique_name("sara"), PASSWORD])
    page.reload()
    expect(page.get_by_test_id("search-input")).to_be_visible()
    assert page.evaluate(OPEN_DEVICE) in ("created", "loaded")  # the app may have made it first
    return page, user


def second_browser(people, username: str):
    page = people.open()
    page.goto("/")
    log_in(page, username)
    assert page.evaluate(OPEN_DEVICE) == "LinkRequired"
    page.evaluate(LINK_SCREEN)
    expect(page.get_by_test_id("link-qr").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("link-qr-text")).to_have_text(re.compile(r"^payambar-link:1:[A-Za-z0-9_-]{96}$"))
    return page


def open_link_dialog(page):
    page.evaluate("location.hash = '#/settings'")
    page.get_by_test_id("link-device-open").click()
    expect(page.get_by_test_id("link-approve-dialog")).to_be_visible()


def pick_and_compare(first, second):
    """On the approving page: picks the waiting request and checks both pages show one code."""
    open_link_dialog(first)
    first.get_by_test_id("link-pick").click()
    code = first.get_by_test_id("link-approve-code")
    expect(code).to_have_text(re.compile(r"^\d{6}$"))
    expect(second.get_by_test_id("link-code")).to_have_text(code.inner_text())
    return code


def test_a_second_browser_linked_by_short_code_reads_what_is_sent_after_it_joined(people, loop, tmp_path, screenshot):
    omid = loop.run(person(people.server, tmp_path, 1))
    try:
        first, sara = signed_up_browser(people)
        me, peer = sara["username"], omid[0].username
        loop.run(omid[0].send_text(me, "before the second browser"))
        assert texts(first.evaluate(HISTORY, peer)) == ["before the second browser"]

        second = second_browser(people, me)
        pick_and_compare(first, second)
        screenshot(second, "new-device")
        screenshot(first, "approving")
        assert serious_violations(second) == []
        assert serious_violations(first) == []
        first.get_by_test_id("link-approve-confirm").click()
        expect(first.get_by_test_id("link-approve-status")).to_have_attribute("data-state", "approved")
        second.wait_for_function("() => window.linked === 'linked'")
        expect(second.get_by_test_id("link-screen")).to_have_count(0)
        first.get_by_test_id("link-approve-close").click()
        expect(first.get_by_test_id("link-approve-dialog")).to_have_count(0)

        assert second.evaluate(OPEN_DEVICE) == "loaded"
        assert len(second.evaluate(OWN_DEVICES, me)["devices"]) == 2
        # what the app does on onLinked: set the device up again, and it is ready
        expect(second.get_by_test_id("device-approval-banner")).to_be_visible()
        status = second.evaluate(
            "async () => { const e2ee = await import('/e2ee.js');"
            " return e2ee.setUpDevice(JSON.parse(localStorage.getItem('payambar.session')).user); }"
        )
        assert status == "ready"
        expect(second.get_by_test_id("device-approval-banner")).to_be_hidden()
        loop.run(omid[0].send_text(me, "after the second browser"))
        read = second.evaluate(HISTORY, peer)
        # the first browser had opened the older one: its content key came over with the link (§14)
        assert texts(read) == ["before the second browser", "after the second browser"], read
        assert texts(first.evaluate(HISTORY, peer)) == ["before the second browser", "after the second browser"]
        second.evaluate("async (peer) => window.e2ee.sendText(peer, 'from the second browser')", peer)
        assert texts(loop.run(omid[0].history(me)))[-1] == "from the second browser"
        assert texts(first.evaluate(HISTORY, peer))[-1] == "from the second browser"
        number = second.evaluate("async (peer) => (await window.e2ee.safetyNumber(peer)).number", peer)
        assert number == omid[0].safety_number(me)
        assert first.evaluate("async () => (await window.e2ee.request('GET', '/api/keys/links')).links") == []
    finally:
        loop.run(close(omid))


def test_a_python_device_approves_a_browser_by_its_qr_text(people, loop, tmp_path):
    sara, omid = loop.run(person(people.server, tmp_path, 1)), loop.run(person(people.server, tmp_path, 1))
    try:
        me, peer = sara[0].username, omid[0].username
        loop.run(omid[0].keys_of(me))
        loop.run(sara[0].keys_of(peer))
        sara[0].keystore.pins[omid[0].user_id].verified = True  # sara compared safety numbers with omid
        browser = second_browser(people, me)
        qr = browser.get_by_test_id("link-qr-text").text_content()
        shown: asyncio.Future = asyncio.run_coroutine_threadsafe(make_future(), loop.loop).result()

        async def person_compares(code: str) -> bool:
            return code == await shown

        approving = loop.start(sara[0].approve_link(qr, confirm=person_compares, timeout=30))
        code = browser.get_by_test_id("link-code")
        expect(code).to_have_text(re.compile(r"^\d{6}$"))
        loop.loop.call_soon_threadsafe(shown.set_result, code.inner_text())
        approving.result(30)
        browser.wait_for_function("() => window.linked === 'linked'")

        loop.run(omid[0].send_text(me, "to sara's browser too"))
        assert texts(browser.evaluate(HISTORY, peer)) == ["to sara's browser too"]
        verified = browser.evaluate("async (peer) => (await window.e2ee.safetyNumber(peer)).verified", peer)
        assert verified is True, "the verified pin came over with the identity"
        browser.evaluate("async (peer) => window.e2ee.sendText(peer, 'from the linked browser')", peer)
        assert texts(loop.run(sara[0].history(peer)))[-1] == "from the linked browser"
        assert texts(loop.run(omid[0].history(me)))[-1] == "from the linked browser"
    finally:
        loop.run(close(sara, omid))


async def make_future() -> asyncio.Future:
    return asyncio.get_running_loop().create_future()


def test_a_browser_approves_a_python_device_from_its_pasted_qr_text(people, loop, tmp_path):
    omid = loop.run(person(people.server, tmp_path, 1))
    try:
        first, sara = signed_up_browser(people)
        me, peer = sara["username"], omid[0].username
        laptop = Client(people.server.url, tmp_path / "sara-laptop.keys")
        loop.run(laptop.login(me, PASSWORD))
        request = loop.run(laptop.start_link())
        code = loop.start(request.short_code(timeout=30))

        open_link_dialog(first)
        first.get_by_test_id("link-paste").fill(request.qr)
        first.get_by_test_id("link-paste-submit").click()
        expect(first.get_by_test_id("link-approve-code")).to_have_text(code.result(30))
        finished = loop.start(request.finish(timeout=30))
        first.get_by_test_id("link-approve-confirm").click()
        finished.result(30)
        expect(first.get_by_test_id("link-approve-status")).to_have_attribute("data-state", "approved")

        assert laptop.keystore.identity_key == bytes(
            first.evaluate(
                "async () => Array.from((await window.e2ee.store.load()).identityKey)",
            )
        )
        loop.run(omid[0].send_text(me, "to the browser and the laptop"))
        assert texts(loop.run(laptop.history(peer))) == ["to the browser and the laptop"]
        assert texts(first.evaluate(HISTORY, peer)) == ["to the browser and the laptop"]
        loop.run(laptop.send_text(peer, "from the laptop"))
        assert texts(first.evaluate(HISTORY, peer))[-1] == "from the laptop"
        loop.run(laptop.close())
    finally:
        loop.run(close(omid))


def test_a_cancel_at_the_code_or_a_wrong_code_leaves_the_device_list_unchanged(people, loop, tmp_path):
    sara = loop.run(person(people.server, tmp_path, 1))
    try:
        # a browser approving: the person cancels at the code
        first, user = signed_up_browser(people)
        me = user["username"]
        before = first.evaluate(OWN_DEVICES, me)
        second = second_browser(people, me)
        open_link_dialog(first)
        first.get_by_test_id("link-pick").click()
        expect(first.get_by_test_id("link-approve-code")).to_have_text(re.compile(r"^\d{6}$"))
        first.get_by_test_id("link-approve-cancel").click()
        expect(first.get_by_test_id("link-approve-dialog")).to_have_count(0)
        expect(second.get_by_test_id("link-status")).to_have_attribute("data-state", "failed")
        expect(second.get_by_test_id("link-retry")).to_be_visible()
        assert first.evaluate(OWN_DEVICES, me) == before
        assert second.evaluate("async () => window.e2ee.hasDevice()") is False
        assert first.evaluate("async () => (await window.e2ee.request('GET', '/api/keys/links')).links") == []

        # a Python device approving: the person types a code that is not the one the browser shows
        python = sara[0]
        browser = second_browser(people, python.username)
        listed = loop.run(python.keys_of(python.username, fresh=True)).device_list
        link_id = browser.get_by_test_id("link-id").text_content()
        typed: asyncio.Future = asyncio.run_coroutine_threadsafe(make_future(), loop.loop).result()

        async def person_compares(code: str) -> bool:
            return code == await typed

        approving = loop.start(python.approve_link(link_id, confirm=person_compares, timeout=30))
        shown = browser.get_by_test_id("link-code")
        expect(shown).to_have_text(re.compile(r"^\d{6}$"))
        wrong = shown.inner_text()[:-1] + str((int(shown.inner_text()[-1]) + 1) % 10)
        loop.loop.call_soon_threadsafe(typed.set_result, wrong)
        with pytest.raises(LinkRefused):
            approving.result(30)
        expect(browser.get_by_test_id("link-status")).to_have_attribute("data-state", "failed")
        assert loop.run(python.keys_of(python.username, fresh=True)).device_list == listed
        assert browser.evaluate("async () => window.e2ee.hasDevice()") is False
        # and trying again on the same screen links it
        browser.get_by_test_id("link-retry").click()
        expect(browser.get_by_test_id("link-qr").locator("svg")).to_be_visible()
        new_id = browser.get_by_test_id("link-id")
        expect(new_id).not_to_have_text(link_id)
        loop.run(python.approve_link(new_id.text_content(), confirm=lambda code: True, timeout=30))
        browser.wait_for_function("() => window.linked === 'linked'")
        assert len(loop.run(python.keys_of(python.username, fresh=True)).device_list.devices) == 2
    finally:
        loop.run(close(sara))


LINK_FRAME = """
async (id) => {
  const { linkFrame } = await import('/ui/linking.js');
  return (await linkFrame(window.e2ee, { type: 'link', id, state: 'requested' })) !== null;
}
"""


def test_a_link_frame_opens_the_approval_and_a_new_identity_instead_warns_first(people, loop, tmp_path):
    omid = loop.run(person(people.server, tmp_path, 1))
    try:
        first, sara = signed_up_browser(people)
        me, peer = sara["username"], omid[0].username
        first.evaluate("async (peer) => window.e2ee.sendText(peer, 'from the first browser')", peer)
        second = second_browser(people, me)
        link_id = second.get_by_test_id("link-id").text_content()
        # the frame reaches the new browser too: its own request opens nothing there
        assert second.evaluate(LINK_FRAME, link_id) is False
        assert first.evaluate(LINK_FRAME, link_id) is True
        expect(first.get_by_test_id("link-approve-code")).to_have_text(
            second.get_by_test_id("link-code").text_content()
        )
        first.get_by_test_id("link-approve-confirm").click()
        second.wait_for_function("() => window.linked === 'linked'")
        assert texts(second.evaluate(HISTORY, peer)) == ["from the first browser"]  # its key came over

        # a third browser gives up on linking: the warning first, then a new identity
        third = second_browser(people, me)
        third.get_by_test_id("link-reset").click()
        expect(third.get_by_test_id("confirm-dialog")).to_contain_text("تأییدها از دست می‌روند")
        third.get_by_test_id("confirm-cancel").click()
        expect(third.get_by_test_id("link-screen")).to_be_visible()
        third.get_by_test_id("link-reset").click()
        third.get_by_test_id("confirm-reset").click()
        third.wait_for_function("() => window.linked === 'reset'")
        own = third.evaluate(OWN_DEVICES, me)
        assert len(own["devices"]) == 1 and third.evaluate("async () => window.e2ee.hasDevice()") is True
        assert third.evaluate("async () => (await window.e2ee.request('GET', '/api/keys/links')).links") == []
        assert first.evaluate(OPEN_DEVICE) == "loaded"
        sent = first.evaluate(
            "async (peer) => { try { await window.e2ee.sendText(peer, 'x'); return 'sent'; }"
            " catch (error) { return error.name; } }",
            peer,
        )
        assert sent == "IdentityChanged", "the old devices see their person's new identity"
    finally:
        loop.run(close(omid))


def test_the_apps_own_banner_links_a_second_browser_which_then_reads_and_writes(people, loop, tmp_path):
    omid = loop.run(person(people.server, tmp_path, 1))
    try:
        first, sara = signed_up_browser(people)
        me, peer = sara["username"], omid[0].username
        second = people.open()
        second.goto("/")
        log_in(second, me)
        banner = second.get_by_test_id("device-approval-banner")
        expect(banner).to_be_visible()
        second.get_by_test_id("device-link-start").click()
        expect(second.get_by_test_id("link-screen")).to_be_visible()
        pick_and_compare(first, second)
        first.get_by_test_id("link-approve-confirm").click()
        expect(second.get_by_test_id("link-screen")).to_have_count(0)
        expect(banner).to_be_hidden()  # the app set the linked device up again: it is ready
        loop.run(omid[0].send_text(me, "after linking"))
        second.evaluate(OPEN_DEVICE)
        assert texts(second.evaluate(HISTORY, peer)) == ["after linking"]
    finally:
        loop.run(close(omid))


def test_a_link_request_from_a_new_browser_is_announced_on_the_open_app_and_reviewed_there(people):
    first, sara = signed_up_browser(people)
    me = sara["username"]
    first.reload()  # the app as a person has it open, with its socket
    expect(first.get_by_test_id("search-input")).to_be_visible()
    assert first.evaluate(OPEN_DEVICE) == "loaded"
    second = second_browser(people, me)
    # the `link` frame announces it; nothing is answered until the person chooses to review it
    notice = first.get_by_test_id("link-request-notice")
    expect(notice).to_be_visible(timeout=15_000)
    assert serious_violations(first) == []
    expect(second.get_by_test_id("link-code")).to_be_hidden()
    first.get_by_test_id("link-request-review").click()
    expect(notice).to_be_hidden()
    expect(first.get_by_test_id("link-approve-dialog")).to_be_visible()
    expect(first.get_by_test_id("link-approve-code")).to_have_text(second.get_by_test_id("link-code").text_content())
    assert len(first.evaluate(OWN_DEVICES, me)["devices"]) == 1, "nothing is approved before the person says so"
    first.get_by_test_id("link-approve-confirm").click()
    second.wait_for_function("() => window.linked === 'linked'")
    assert len(first.evaluate(OWN_DEVICES, me)["devices"]) == 2

    # a request that is closed before anyone reviews it takes its notice away
    third = second_browser(people, me)
    expect(notice).to_be_visible(timeout=15_000)
    third.evaluate("async () => window.linkScreen.close()")
    expect(notice).to_be_hidden(timeout=15_000)


def test_a_seal_the_server_refuses_takes_the_new_device_off_the_list_again(people):
    first, sara = signed_up_browser(people)
    me = sara["username"]
    before = first.evaluate(OWN_DEVICES, me)
    second = second_browser(people, me)
    refuse = {"status": 503, "content_type": "application/json", "body": '{"error": {"code": "unavailable"}}'}
    first.route("**/api/keys/links/*/seal", lambda route: route.fulfill(**refuse))
    pick_and_compare(first, second)
    first.get_by_test_id("link-approve-confirm").click()
    expect(first.get_by_test_id("link-approve-status")).to_have_attribute("data-state", "failed")
    after = first.evaluate(OWN_DEVICES, me)
    assert after["devices"] == before["devices"], "the device that got no identity is not listed"
    assert after["version"] == before["version"] + 2  # listed, then taken off again
    expect(second.get_by_test_id("link-status")).to_have_attribute("data-state", "failed", timeout=30_000)

"""Link previews in the PWA, in an end-to-end encrypted chat: the sender's composer shows the
preview of the first link (the server fetched the page), it goes sealed inside the message, and
the recipient's bubble shows it without ever contacting the site; the cross sends without it, and
Settings turns previews off."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browser_helpers import People, open_chat, token_of
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from web_site import Site

from tests.conftest import make_server


@pytest.fixture(scope="module")
def site():
    running = Site()
    yield running
    running.close()


@pytest.fixture(scope="module")
def preview_server(tmp_path_factory):
    server = make_server(tmp_path_factory.mktemp("preview-server"), LINK_PREVIEW_ALLOW_PRIVATE="1").start()
    yield server
    server.stop()


@pytest.fixture
def two(browser, preview_server):
    crowd = People(browser, preview_server)
    sara, sara_name = crowd.register("sara")
    omid, omid_name = crowd.register("omid")
    open_chat(sara, omid_name)
    open_chat(omid, sara_name)
    expect(sara.get_by_test_id("e2ee-status")).to_have_attribute("data-state", "encrypted")
    yield sara, sara_name, omid, omid_name
    crowd.close()
    assert crowd.page_errors == [], "uncaught errors in the page"


def containing(page, text: str):
    return page.locator("[data-testid=message]").filter(has_text=text)


def write(page, text: str) -> None:
    page.get_by_test_id("composer").fill(text)


def test_a_links_preview_goes_sealed_and_the_recipient_never_contacts_the_site(two, site):
    sara, sara_name, omid, omid_name = two
    link = f"{site.url}/page"
    write(sara, f"این را ببین {link}")
    draft = sara.get_by_test_id("link-preview-draft")
    expect(draft.get_by_test_id("link-preview-draft-title")).to_have_text("سفر به اصفهان")
    fetched = len(site.requests)
    sara.get_by_test_id("composer").press("Enter")
    expect(draft).to_be_hidden()

    bubble = containing(omid, "این را ببین")
    card = bubble.get_by_test_id("link-preview")
    expect(card.get_by_test_id("link-preview-title")).to_have_text("سفر به اصفهان")
    expect(card.get_by_test_id("link-preview-site")).to_have_text("سفرنامه")
    expect(card.get_by_test_id("link-preview-description")).to_have_text("میدان نقش جهان، پل خواجو")
    assert card.get_attribute("href") == link and card.get_attribute("rel") == "noopener noreferrer"
    card.get_by_test_id("link-preview-image").evaluate("image => image.decode()")
    assert card.get_by_test_id("link-preview-image").evaluate("image => image.naturalWidth") > 0
    omid.reload()
    expect(containing(omid, "این را ببین").get_by_test_id("link-preview-title")).to_have_text("سفر به اصفهان")
    assert len(site.requests) == fetched, "a browser contacted the site"
    agents = [{k.lower(): v for k, v in headers.items()}.get("user-agent", "") for _, headers in site.requests]
    assert agents and all("PayambarLinkPreview" in agent for agent in agents), agents

    stored = omid.request.get(
        f"/api/conversations/{sara_name}/messages", headers={"authorization": f"Bearer {token_of(omid)}"}
    ).json()["messages"][-1]
    assert stored["text"] == "" and stored["envelope"] and "اصفهان" not in str(stored)

    # an edit that keeps the link keeps its preview; one that drops the link drops it
    edit_to(sara, "این را ببین", f"این را حتماً ببین {link}")
    edited = containing(omid, "این را حتماً ببین")
    expect(edited.get_by_test_id("link-preview-title")).to_have_text("سفر به اصفهان")
    edit_to(sara, "این را حتماً ببین", "بی‌پیوند")
    expect(containing(omid, "بی‌پیوند")).to_be_visible()
    expect(containing(omid, "بی‌پیوند").get_by_test_id("link-preview")).to_have_count(0)
    assert len(site.requests) == fetched, "an edit fetched the page again"


def edit_to(page, old: str, new: str) -> None:
    bubble = containing(page, old).last
    bubble.hover()
    bubble.get_by_test_id("message-actions").click()
    page.locator("[data-action=edit]").click()
    composer = page.get_by_test_id("composer")
    composer.fill(new)
    composer.press("Enter")
    expect(containing(page, new)).to_be_visible()


def test_the_cross_sends_without_the_preview_and_settings_turn_previews_off(two, site):
    sara, _, omid, _ = two
    write(sara, f"بدون پیش‌نمایش {site.url}/page")
    expect(sara.get_by_test_id("link-preview-draft")).to_be_visible()
    sara.get_by_test_id("link-preview-remove").click()
    expect(sara.get_by_test_id("link-preview-draft")).to_be_hidden()
    sara.get_by_test_id("composer").press("Enter")
    expect(containing(omid, "بدون پیش‌نمایش")).to_be_visible()
    expect(containing(omid, "بدون پیش‌نمایش").get_by_test_id("link-preview")).to_have_count(0)

    asked = len(site.requests)
    sara.evaluate("localStorage.setItem('payambar.link_previews', 'off')")
    write(sara, f"خاموش {site.url}/moved")
    sara.wait_for_timeout(1500)
    expect(sara.get_by_test_id("link-preview-draft")).to_be_hidden()
    assert len(site.requests) == asked  # the server was not even asked
    sara.get_by_test_id("composer").press("Enter")
    expect(containing(omid, "خاموش")).to_be_visible()
    expect(containing(omid, "خاموش").get_by_test_id("link-preview")).to_have_count(0)

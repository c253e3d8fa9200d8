"""In a real browser: offers from the template tag and from offers.js, tracked."""

import time

import pytest
from playwright.sync_api import expect

from interaction.models import Environment, Proposition
from tests.builders import make_category, make_offer, make_page_offers, make_space


def _site_root(title):
    """A HomePage as the default site's root (the database may have been flushed)."""
    from home.models import HomePage
    from wagtail.models import Locale, Page, Site

    Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node() or Page.add_root(
        instance=Page(title="Root", slug="root")
    )
    home = root.add_child(instance=HomePage(title=title, slug="offers-home"))
    Site.objects.all().delete()
    Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)
    return home


def _poll(query, tries=50):
    for _ in range(tries):
        if query():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_offers_from_tag_and_js_are_shown_and_tracked(live_server, browser):
    from django.apps import apps

    from interaction.roles import sync_roles

    # A transactional test may run after another one flushed the database.
    sync_roles(apps)
    visitors = Environment.objects.create(code="visitors", label="Visitors")
    promos = make_category(visitors, "promos")
    hero = make_space(visitors, "home-hero")
    sidebar = make_space(visitors, "home-sidebar")
    base_url = live_server.url
    make_offer(promos, "hero-offer", spaces=[hero], title="Hero offer")
    make_offer(
        promos,
        "side-offer",
        spaces=[sidebar],
        title="Side offer",
        destination_url=f"{base_url}/?from=side",
    )
    _site_root("Offers home")

    page = browser.new_page()
    errors, propose_requests = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "request",
        lambda request: "/propose" in request.url and propose_requests.append(request),
    )
    page.goto(f"{base_url}/")

    from_js = page.locator('[data-offer-space="home-sidebar"] [data-proposition]')
    from_tag = page.locator(".interaction-space [data-proposition]")
    expect(from_js).to_have_count(1)
    expect(from_js).to_contain_text("Side offer")
    expect(from_tag).to_have_count(1)
    expect(from_tag).to_contain_text("Hero offer")
    assert [r.url for r in propose_requests] == [
        f"{base_url}/api/interaction/v1/propose/batch"
    ]

    # One visitor for both: the middleware's cookie, sent by offers.js too.
    visitor = {c["name"]: c["value"] for c in page.context.cookies()}[
        "interaction_visitor"
    ]
    hero_prop = Proposition.objects.get(offer_code="hero-offer")
    side_prop = Proposition.objects.get(offer_code="side-offer")
    assert hero_prop.visitor_id == side_prop.visitor_id == visitor
    assert from_js.get_attribute("data-proposition") == str(side_prop.pk)
    assert from_tag.get_attribute("data-proposition") == str(hero_prop.pk)

    def status(pk):
        return Proposition.objects.get(pk=pk).status

    assert _poll(lambda: status(hero_prop.pk) == "presented"), status(hero_prop.pk)
    assert _poll(lambda: status(side_prop.pk) == "presented"), status(side_prop.pk)

    # A click that leaves the page: the beacon still records the acceptance.
    from_js.get_by_role("link", name="Side offer").click()
    page.wait_for_url(f"{base_url}/?from=side")
    assert _poll(lambda: status(side_prop.pk) == "accepted"), status(side_prop.pk)
    assert status(hero_prop.pk) == "presented"

    from_tag = page.locator(".interaction-space [data-proposition]")
    expect(from_tag).to_have_count(1)
    hero_again = int(from_tag.get_attribute("data-proposition"))
    from_tag.click()
    assert _poll(lambda: status(hero_again) == "accepted"), status(hero_again)

    # A space the API does not know: the element stays empty, nothing thrown.
    page.evaluate(
        """() => {
            const div = document.createElement("div");
            div.id = "unknown";
            div.dataset.offerSpace = "no-such-space";
            document.body.appendChild(div);
            return window.InteractionOffers.start();
        }"""
    )
    assert page.locator("#unknown").inner_html() == ""
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_the_demo_page_shows_each_offer_once(live_server, browser):
    """The demo's template: the hero rendered on the server, the sidebar by
    offers.js with ``data-unique-offers``, both spaces sharing their offers."""
    from django.apps import apps

    from interaction.roles import sync_roles

    sync_roles(apps)
    visitors = Environment.objects.create(code="visitors", label="Visitors")
    promos = make_category(visitors, "promos")
    hero = make_space(visitors, "home-hero")
    sidebar = make_space(visitors, "home-sidebar", max_offers=3)
    make_page_offers(promos, [hero, sidebar])
    _site_root("Offers home")

    page = browser.new_page()
    bodies = []
    page.on(
        "request",
        lambda request: (
            "/propose" in request.url and bodies.append(request.post_data_json)
        ),
    )
    page.goto(f"{live_server.url}/")

    from_js = page.locator('[data-offer-space="home-sidebar"] .interaction-proposition')
    expect(from_js).to_have_count(3)
    hero_offers = page.locator(".hero .interaction-proposition")
    assert [e.get_attribute("data-offer") for e in hero_offers.all()] == ["best"]
    assert [e.get_attribute("data-offer") for e in from_js.all()] == [
        "second",
        "third",
        "fourth",
    ]
    assert bodies[0]["unique_offers"] is True
    assert bodies[0]["shown_offers"] == ["best"]

    # More spaces than a request takes: the second batch is sent once the
    # first has filled its spaces, without their offers.
    page.evaluate(
        """() => {
            for (const e of document.querySelectorAll(".interaction-proposition")) {
                e.remove();
            }
            // The site's own use of data-offer, longer than a code can be.
            const other = document.createElement("div");
            other.dataset.offer = "not-an-offer-code-".repeat(4);
            document.body.appendChild(other);
            for (let i = 1; i <= 21; i++) {
                const div = document.createElement("div");
                div.className = "many";
                div.dataset.offerSpace = "home-hero";
                div.dataset.contact = String(i);  // one call each
                document.body.appendChild(div);
            }
            return window.InteractionOffers.start();
        }"""
    )
    many = page.locator(".many .interaction-proposition")
    expect(many).to_have_count(4)
    assert [e.get_attribute("data-offer") for e in many.all()] == [
        "best",
        "second",
        "third",
        "fourth",
    ]
    assert [len(body["calls"]) for body in bodies[1:]] == [20, 1]
    # Not sent (the API would refuse the batch): every space was filled.
    assert bodies[1]["shown_offers"] == []
    assert bodies[2]["shown_offers"] == ["best", "second", "third", "fourth"]

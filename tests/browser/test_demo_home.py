"""In a real browser: the demo's front page looks like a small bank's site,
its hero and sidebar offers with their banners.

A screenshot goes to ``$INTERACTION_SCREENSHOTS`` (a directory) if set, else
to the test's temporary directory; ``docs/demo-home.png`` is that
screenshot."""

import os
import pathlib
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import include, path, re_path
from django.views.static import serve
from playwright.sync_api import expect


def _media(request, path):
    """The uploaded files, as the demo serves them (read at request time: each
    test has its own media directory)."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    re_path(r"^media/(?P<path>.*)$", _media),
    path("", include("tests.urls")),
]


@pytest.mark.django_db(transaction=True)
def test_the_demo_front_page_shows_offers_with_their_banners(
    browser, live_server, settings, tmp_path
):
    from wagtail.models import Collection, Locale, Page

    # Wagtail's roots, as its migrations create them (a transactional test
    # may run after another one flushed the database).
    Locale.objects.get_or_create(language_code="en")
    if Page.get_first_root_node() is None:
        Page.add_root(instance=Page(title="Root", slug="root"))
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    settings.ROOT_URLCONF = __name__
    settings.INTERACTION_CONTACT_RESOLVER = "home.contacts.contact_from_request"
    call_command("interaction_demo", no_migrate=True, contacts=50, stdout=StringIO())

    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.goto(f"{live_server.url}/?contact=1")

    expect(page.locator(".site-header")).to_contain_text("Harbour Bank")
    expect(page.locator(".topbar")).to_contain_text("Browsing as contact #1")
    hero = page.locator(".hero .promo--hero")
    expect(hero).to_have_count(1)
    cards = page.locator('[data-offer-space="home-sidebar"] .interaction-proposition')
    expect(cards.first).to_be_visible()
    # One banner in the hero, one in each sidebar card, every one loaded.
    images = page.locator(".hero img, aside img")
    expect(images).to_have_count(1 + cards.count())
    page.wait_for_load_state("load")
    loaded = images.evaluate_all(
        "images => images.map(i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded and all(loaded), loaded
    expect(page.locator(".site-footer")).to_contain_text("API documentation")

    directory = pathlib.Path(os.environ.get("INTERACTION_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / "demo-home.png"), full_page=True)

    # On a phone: the header keeps one line (its buttons and brand wrapped
    # into tall pills at 390 px) and nothing runs off the right edge.
    page.set_viewport_size({"width": 390, "height": 844})
    header = page.locator(".site-header .wrap").bounding_box()
    assert header and header["height"] <= 80
    for button in page.locator(".site-header .button").all():
        if button.is_visible():
            box = button.bounding_box()
            assert box and box["height"] <= 48
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0

"""In a real browser: an offer approved while its category is still a draft
is live but never served; the offer listing says why.

A screenshot goes to ``$INTERACTION_SCREENSHOTS`` (a directory) if set, else
to the test's temporary directory; ``docs/offer-warnings.png`` is that
screenshot."""

import os
import pathlib

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from interaction.models import Offer
from interaction.roles import OFFER_MANAGERS
from tests.builders import DIMENSION, admin_login, make_category, make_offer, make_space


@pytest.mark.django_db(transaction=True)
def test_an_offer_under_an_unpublished_category_shows_its_warning_in_the_listing(
    browser, live_server, django_user_model, tmp_path
):
    from django.apps import apps

    from interaction.models import Environment
    from interaction.roles import sync_roles

    # A transactional test may run after another one flushed the database.
    sync_roles(apps)
    environment = Environment.objects.create(
        code="customers", label="Customers", dimension=DIMENSION
    )
    space = make_space(environment, "home-banner")
    served = make_category(environment, "cards")
    make_offer(served, "gold-card", spaces=[space], title="Gold card")
    draft = make_category(environment, "summer-deals", live=False)
    make_offer(draft, "beach-trip", spaces=[space], title="Beach trip")
    manager = django_user_model.objects.create_user("manager", password="pw")
    manager.groups.add(Group.objects.get(name=OFFER_MANAGERS))
    environment.users.add(manager)

    page = browser.new_page(viewport={"width": 1400, "height": 700})
    admin_login(page, live_server.url, "manager", "pw")
    page.goto(live_server.url + reverse(Offer.snippet_viewset.get_url_name("list")))

    silent = page.locator("tr", has_text="Beach-Trip")
    expect(silent.locator(".w-status").first).to_have_text("live")
    expect(silent).to_contain_text(
        "Not served: the category “Summer-Deals” above it is not published."
    )
    expect(page.locator("tr", has_text="Gold-Card")).not_to_contain_text("Not served")
    directory = pathlib.Path(os.environ.get("INTERACTION_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    page.locator("main").screenshot(path=str(directory / "offer-warnings.png"))

    silent.get_by_role("link", name="Beach-Trip").click()
    warning = page.locator(".interaction-serving-warnings")
    expect(warning).to_contain_text("“Summer-Deals” above it is not published")
    page.screenshot(path=str(directory / "offer-warnings-edit.png"))

"""In a real browser: an offer manager chooses a contact in the offer's
preview panel (a POST with the CSRF token, from Wagtail's preview iframe),
sees the weight the offer gives them, edits a weight row and sees the weight
follow, without saving, then clears the choice.

A screenshot goes to ``$INTERACTION_SCREENSHOTS`` (a directory) if set, else
to the test's temporary directory; ``docs/offer-weight-check.png`` is that
screenshot."""

import os
import pathlib

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from interaction.models import Offer
from interaction.roles import OFFER_MANAGERS
from tests.builders import (
    DIMENSION,
    add_weight,
    admin_login,
    make_category,
    make_contact,
    make_offer,
    make_space,
    url,
)


@pytest.mark.django_db(transaction=True)
def test_the_preview_panel_shows_the_weight_for_a_chosen_contact(
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
    offer = make_offer(
        make_category(environment, "cards"), "gold", spaces=[space], title="Gold"
    )
    add_weight(offer, "1", label="Everyone", sort_order=0)
    add_weight(
        offer,
        "10 + age / 10",
        label="Adults",
        sort_order=1,
        target_filter={"field": "age", "op": ">=", "value": 18},
    )
    make_contact(first_name="Grace", last_name="Hopper", age=36)
    manager = django_user_model.objects.create_user("manager", password="pw")
    manager.groups.add(Group.objects.get(name=OFFER_MANAGERS))
    environment.users.add(manager)

    page = browser.new_page(viewport={"width": 1600, "height": 900})
    admin_login(page, live_server.url, "manager", "pw")
    page.goto(live_server.url + url(Offer, "edit", offer))
    # Wagtail takes the form's state as unchanged 2 s after loading: only
    # edits made after that refresh the preview.
    page.evaluate(
        "document.addEventListener('w-unsaved:watch-edits',"
        " () => { window.watchingEdits = true; }, {once: true})"
    )
    page.locator("[data-side-panel-toggle='preview']").click()
    preview = page.frame_locator("#w-preview-iframe")
    check = preview.locator(".weight-check")
    expect(check).to_contain_text("Choose a contact")

    check.get_by_label("Contact").fill("hopper")
    check.get_by_role("button", name="Choose").click()
    expect(check).to_contain_text("For Grace Hopper")
    expect(check).to_contain_text("Home-Banner: weight 13.60")

    page.wait_for_function("window.watchingEdits === true")
    page.get_by_role("tab", name="Targeting").click()
    formula = page.locator("input[name$='-value'][value='10 + age / 10']")
    formula.fill("20 + age")
    # Wagtail refreshes the preview once the field is left.
    formula.press("Tab")
    expect(check).to_contain_text("Home-Banner: weight 56.00", timeout=10_000)
    expect(check.locator("tr", has_text="Adults")).to_contain_text("gives 56.00")

    directory = pathlib.Path(os.environ.get("INTERACTION_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    check.scroll_into_view_if_needed()
    page.screenshot(path=str(directory / "offer-weight-check.png"))

    check.get_by_role("button", name="Clear").click()
    expect(check).to_contain_text("Choose a contact")
    expect(check).not_to_contain_text("For Grace Hopper")

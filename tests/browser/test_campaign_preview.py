"""In a real browser: a delivery manager edits a campaign and Wagtail's preview
panel shows the delivery with the preview contact's offers."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from interaction.roles import DELIVERY_MANAGERS
from tests.builders import (
    DIMENSION,
    add_weight,
    make_campaign,
    make_category,
    make_contact,
    make_offer,
    make_space,
)


@pytest.mark.django_db(transaction=True)
def test_the_preview_panel_shows_the_contacts_offers(
    browser, live_server, django_user_model
):
    from django.apps import apps

    from interaction.models import Environment
    from interaction.roles import sync_roles

    # A transactional test may run after another one flushed the database.
    sync_roles(apps)
    environment = Environment.objects.create(
        code="customers", label="Customers", dimension=DIMENSION
    )
    category = make_category(environment, "cards")
    space = make_space(environment, "mailing", channel="email")
    add_weight(make_offer(category, "gold", spaces=[space], title="Gold card"), 5)
    add_weight(make_offer(category, "silver", spaces=[space], title="Silver card"), 2)
    contact = make_contact(first_name="Grace")
    campaign = make_campaign(
        space,
        count=2,
        preview_contact=str(contact.pk),
        body='[{"type": "offer", "value": {"rank": 2}}]',
    )
    user = django_user_model.objects.create_user(username="delivery", password="pw")
    user.groups.add(Group.objects.get(name=DELIVERY_MANAGERS))
    environment.users.add(user)

    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "delivery")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(live_server.url + reverse("wagtailadmin_pages:edit", args=[campaign.pk]))
    page.locator("[data-side-panel-toggle='preview']").click()

    preview = page.frame_locator("#w-preview-iframe")
    expect(preview.locator("header")).to_contain_text("Grace Lovelace")
    expect(preview.locator("main")).to_contain_text("Silver card")
    expect(preview.locator("main")).not_to_contain_text("Gold card")

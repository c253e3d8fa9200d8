"""In a real browser, the whole of a delivery manager's campaign: creating the
page under the campaigns index through the admin form, publishing it, finding
its "Runs" in the explorer, starting a run and watching it reach "Done" while
a worker writes it (the page refreshes itself), downloading the CSV and
previewing the delivery for one contact.

Screenshots of each step go to ``$INTERACTION_SCREENSHOTS`` (a directory) if
set, else to the test's temporary directory."""

import csv
import io
import json
import os
import pathlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from interaction.models import CampaignPage, CampaignRun
from interaction.roles import DELIVERY_MANAGERS, sync_roles
from tests.builders import (
    add_weight,
    admin_login,
    campaigns_index,
    make_category,
    make_contact,
    make_offer,
    make_space,
    run_workers,
)


@pytest.fixture
def shots(tmp_path):
    """``shots(page, name)``: a full-page screenshot of this step."""
    directory = pathlib.Path(os.environ.get("INTERACTION_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.screenshot(path=str(directory / f"campaign-{name}.png"), full_page=True)

    return take


@pytest.mark.django_db(transaction=True)
def test_a_delivery_manager_creates_runs_exports_and_previews_a_campaign(
    browser, live_server, environment, django_user_model, shots
):
    sync_roles(apps)  # after a transactional test that flushed the database
    space = make_space(environment, "mailing", channel="email", real_time=False)
    cards = make_category(environment, "cards")
    add_weight(make_offer(cards, "gold", spaces=[space], title="Gold card"), 5)
    add_weight(make_offer(cards, "silver", spaces=[space], title="Silver card"), 2)
    adults = [
        make_contact(first_name=name, age=age)
        for name, age in (("Ada", 36), ("Grace", 45), ("Alan", 41))
    ]
    make_contact(first_name="Tim", age=12)  # outside the population
    index = campaigns_index()
    delivery = django_user_model.objects.create_user("delivery", password="pw")
    delivery.groups.add(Group.objects.get(name=DELIVERY_MANAGERS))
    environment.users.add(delivery)

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(8_000)
    admin_login(page, live_server.url, "delivery", "pw")

    # Create the campaign under the campaigns index, through the admin form.
    page.goto(live_server.url + reverse("wagtailadmin_explore", args=[index.pk]))
    page.get_by_role("link", name="Add child page").first.click()
    page.wait_for_url("**/add/interaction/campaignpage/**")
    page.fill("input[name=title]", "Autumn mailing")
    page.select_option("select[name=space]", str(space.pk))
    # A power user types the population in the builder's JSON view.
    page.get_by_role("button", name="Edit as JSON").click()
    page.fill(
        "[name=population]", json.dumps({"field": "age", "op": ">=", "value": 18})
    )
    page.fill("input[name=count]", "2")
    # The delivery content: one block, the contact's offer at rank 1.
    page.get_by_role("tab", name="Delivery content").click()
    page.locator("button.c-sf-add-button").first.click()
    page.get_by_role("option", name="Offer at rank").click()
    page.locator("input[name$='-value-rank']").first.fill("1")
    page.get_by_role("tab", name="Settings").click()
    page.fill("input[name=slug]", "autumn-mailing")
    page.get_by_role("tab", name="Campaign").click()
    shots(page, "1-create")
    page.locator("[data-w-dropdown-target='toggle']").last.click()
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(f"**/admin/pages/{index.pk}/")
    campaign = CampaignPage.objects.get()
    assert campaign.live and campaign.get_parent().pk == index.pk
    assert (campaign.count, campaign.space_id) == (2, space.pk)
    assert campaign.population == {"field": "age", "op": ">=", "value": 18}
    shots(page, "2-published")

    # Its runs, from the explorer listing's more-menu.
    row = page.locator("tr", has_text="Autumn mailing")
    row.get_by_role("button", name="More options").click()
    shots(page, "2b-listing-menu")
    row.get_by_role("link", name="Runs").click()
    page.wait_for_url(
        "**" + reverse("interaction_campaign_runs:index", args=[campaign.pk])
    )
    page.fill("input[name=seed]", "7")
    page.get_by_role("button", name="Start a run").click()
    status = page.locator("[data-job-status]")
    expect(status).to_have_text("Queued")
    shots(page, "3-queued")
    run_workers()
    expect(status).to_have_text("Done", timeout=15_000)  # no reload by hand
    expect(page.locator("[data-run-written]")).to_have_text("6")
    shots(page, "4-done")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    with open(download.value.path()) as exported:
        rows = list(csv.reader(io.StringIO(exported.read())))
    assert CampaignRun.objects.get().seed == 7
    assert rows[0] == [
        "contact",
        *("rank", "offer", "weight", "text", "body", "body_text"),
    ]
    assert sorted(tuple(row[:4]) for row in rows[1:]) == sorted(
        (str(contact.pk), rank, code, weight)
        for contact in adults
        for rank, code, weight in (("1", "gold", "5.0"), ("2", "silver", "2.0"))
    )
    firsts = [row for row in rows[1:] if row[1] == "1"]
    assert all("Gold card" in row[5] and "Gold card" in row[6] for row in firsts)

    # Back to the campaign, and its delivery previewed for one contact.
    page.get_by_role("link", name="Runs").last.click()
    run = CampaignRun.objects.get()
    expect(page.get_by_role("link", name=f"#{run.pk}")).to_be_visible()  # history
    shots(page, "4b-history")
    page.locator("[data-campaign-edit]").click()
    page.wait_for_url(f"**/admin/pages/{campaign.pk}/edit/")
    page.get_by_role("button", name="Actions", exact=True).click()
    header_menu = page.locator(".w-dropdown__content").filter(has_text="Runs")
    expect(header_menu.get_by_role("link", name="Runs")).to_be_visible()
    shots(page, "5-header-menu")
    page.get_by_role("link", name="Preview for a contact").click()
    page.fill("input[name=contact]", str(adults[1].pk))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Delivery for")).to_contain_text("Grace")
    expect(page.locator(".interaction-campaign-preview")).to_contain_text("Gold card")
    silver = page.locator("table.listing tr", has_text="Silver")
    expect(silver.locator("code")).to_have_text("silver")
    shots(page, "6-preview")

"""In a real browser: a delivery manager starts a campaign run, watches its
progress reach "Done" while a worker writes it (the page refreshes itself),
and downloads the CSV."""

import csv
import io

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from interaction.models import CampaignRun
from interaction.roles import DELIVERY_MANAGERS, sync_roles
from tests.builders import (
    NOW,
    add_weight,
    admin_login,
    make_campaign,
    make_category,
    make_contact,
    make_offer,
    make_space,
    run_workers,
)


@pytest.mark.django_db(transaction=True)
def test_a_delivery_manager_runs_a_campaign_and_downloads_it(
    browser, live_server, environment, django_user_model
):
    sync_roles(apps)  # after a transactional test that flushed the database
    space = make_space(environment, "mailing", channel="email", real_time=False)
    cards = make_category(environment, "cards")
    add_weight(make_offer(cards, "gold", spaces=[space], title="Gold card"), 5)
    add_weight(make_offer(cards, "silver", spaces=[space], title="Silver card"), 2)
    contacts = [make_contact() for _ in range(5)]
    campaign = make_campaign(space, title="Summer", count=2, contact_date=NOW)
    delivery = django_user_model.objects.create_user("delivery", password="pw")
    delivery.groups.add(Group.objects.get(name=DELIVERY_MANAGERS))
    environment.users.add(delivery)

    page = browser.new_page()
    admin_login(page, live_server.url, "delivery", "pw")
    runs = reverse("interaction_campaign_runs:index", args=[campaign.pk])
    page.goto(live_server.url + runs)
    page.fill("input[name=seed]", "42")
    page.get_by_role("button", name="Start a run").click()

    status = page.locator("[data-job-status]")
    expect(status).to_have_text("Queued")
    run_workers()
    expect(status).to_have_text("Done", timeout=15_000)  # no reload by hand
    expect(page.locator("[data-run-written]")).to_have_text("10")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()

    with open(download.value.path()) as exported:
        rows = list(csv.reader(io.StringIO(exported.read())))
    assert CampaignRun.objects.get().seed == 42
    assert rows[0] == [
        "contact",
        *("rank", "offer", "weight", "text", "body", "body_text"),
    ]
    assert sorted((row[0], row[2]) for row in rows[1:]) == sorted(
        (str(contact.pk), code) for contact in contacts for code in ("gold", "silver")
    )
    assert {row[4].strip() for row in rows[1:]} == {"Gold card", "Silver card"}

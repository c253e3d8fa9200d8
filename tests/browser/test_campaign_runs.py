"""In a real browser: a delivery manager starts a campaign run, watches its
progress reach "Done" while a worker writes it (the page refreshes itself),
and downloads the CSV."""

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django_tasks_db.management.commands.db_worker import Worker
from playwright.sync_api import expect

from interaction.models import CampaignRun
from interaction.roles import DELIVERY_MANAGERS
from tests.builders import (
    DIMENSION,
    NOW,
    add_weight,
    make_campaign,
    make_category,
    make_contact,
    make_offer,
    make_space,
)


@pytest.mark.django_db(transaction=True)
def test_a_delivery_manager_runs_a_campaign_and_downloads_it(
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
    space = make_space(environment, "mailing", channel="email", real_time=False)
    add_weight(make_offer(category, "gold", spaces=[space], title="Gold card"), 5)
    add_weight(make_offer(category, "silver", spaces=[space], title="Silver card"), 2)
    contacts = [make_contact(first_name=f"Grace {n}") for n in range(5)]
    campaign = make_campaign(space, title="Summer", count=2, contact_date=NOW)
    user = django_user_model.objects.create_user(username="delivery", password="pw")
    user.groups.add(Group.objects.get(name=DELIVERY_MANAGERS))
    environment.users.add(user)

    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "delivery")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    runs_url = reverse("interaction_campaign_runs:index", args=[campaign.pk])
    page.goto(live_server.url + runs_url)
    page.fill("input[name=seed]", "42")
    page.get_by_role("button", name="Start a run").click()

    status = page.locator("[data-run-status-label]")
    expect(status).to_have_text("Queued")
    # What `manage.py db_worker --backend batch --queue-name interaction` does.
    Worker(
        queue_names=["interaction"],
        interval=0,
        batch=True,
        backend_name="batch",
        startup_delay=False,
        max_tasks=None,
        worker_id="browser-test",
        excluded_queue_names=[],
    ).run()

    expect(status).to_have_text("Done", timeout=15_000)  # no reload by hand
    expect(page.locator("[data-run-written]")).to_have_text("10")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path()).read())))
    run = CampaignRun.objects.get()
    assert run.seed == 42
    assert rows[0] == ["contact", "rank", "offer", "weight", "text", "body"]
    assert sorted((row[0], row[2]) for row in rows[1:]) == sorted(
        (str(contact.pk), code) for contact in contacts for code in ("gold", "silver")
    )
    assert {row[4].strip() for row in rows[1:]} == {"Gold card", "Silver card"}

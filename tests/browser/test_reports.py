"""In a real browser: a delivery manager opens *Reports › Offer analysis*
from the admin menu, reads the chart and the per-offer table, narrows it to
one space in the side panel, and downloads the report as CSV.

A screenshot of the report goes to ``$INTERACTION_SCREENSHOTS`` (a
directory) if set, else to the test's temporary directory (the README's
``docs/offer-report.png`` is this screenshot)."""

import csv
import datetime
import io
import os
import pathlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from interaction.models import Proposition
from interaction.roles import DELIVERY_MANAGERS, sync_roles
from tests.builders import (
    admin_login,
    make_category,
    make_offer,
    make_space,
    record,
)

#: Per offer, propositions a day (times 1 to 4 over 14 days, divided by 3):
#: accepted, rejected, and presented or proposed.
HISTORY = {
    "gold": (9, 2, 20),
    "silver": (4, 3, 16),
    "bronze": (1, 1, 8),
}


@pytest.mark.django_db(transaction=True)
def test_a_delivery_manager_reads_the_offer_report_and_downloads_it(
    browser, live_server, environment, other_environment, django_user_model, tmp_path
):
    sync_roles(apps)  # after a transactional test that flushed the database
    banner = make_space(environment, "home-banner")
    mail = make_space(environment, "newsletter", channel="email")
    cards = make_category(environment, "cards")
    labels = {"gold": "Gold card", "silver": "Silver card", "bronze": "Bronze card"}
    today = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    for code, (accepted, rejected, other) in HISTORY.items():
        offer = make_offer(cards, code, spaces=[banner, mail], title=labels[code])
        offer.label = labels[code]
        offer.save(update_fields=["label"])
        for day in range(14):
            when = today - datetime.timedelta(days=13 - day)
            scale = 1 + day % 4
            for number in range(accepted * scale // 3):
                record(offer, banner, f"a{day}-{number}", status="accepted", when=when)
            for number in range(rejected * scale // 3):
                record(offer, mail, f"r{day}-{number}", status="rejected", when=when)
            for number in range(other * scale // 3):
                status = "presented" if number % 3 else "proposed"
                record(offer, banner, f"p{day}-{number}", status=status, when=when)
    partner = make_category(other_environment, "partner")
    partner_space = make_space(other_environment, "partner-banner")
    record(
        make_offer(partner, "partner", spaces=[partner_space]),
        partner_space,
        "x",
        status="accepted",
        when=today,
    )
    delivery = django_user_model.objects.create_user("delivery", password="pw")
    delivery.groups.add(Group.objects.get(name=DELIVERY_MANAGERS))
    environment.users.add(delivery)

    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.set_default_timeout(8_000)
    admin_login(page, live_server.url, "delivery", "pw")
    # The dashboard's panel: its text lines up with its table's cells (it sat
    # on the panel's edge).
    page.goto(live_server.url + "/admin/")
    panel = page.locator("#interaction-dashboard-content")
    text_left = (
        "el => el.getBoundingClientRect().left"
        " + parseFloat(getComputedStyle(el).paddingLeft)"
    )
    totals = panel.locator(".interaction-dashboard__totals").evaluate(text_left)
    cell = panel.locator("table.listing th").first.evaluate(text_left)
    edge = panel.evaluate("el => el.getBoundingClientRect().left")
    assert totals - edge >= 16
    assert abs(totals - cell) <= 8
    page.get_by_role("button", name="Reports").click()
    page.get_by_role("list", name="Reports").get_by_role(
        "link", name="Offer analysis"
    ).click()
    expect(page.get_by_role("heading", name="Offer analysis")).to_be_visible()

    chart = page.get_by_role("img", name="Propositions per day")
    expect(chart).to_be_visible()
    table = page.locator("#listing-results table.listing").last
    for label in labels.values():
        expect(table.get_by_role("link", name=label)).to_be_visible()
    expect(page.locator("#listing-results")).not_to_contain_text("Partner")
    gold_count = Proposition.objects.filter(offer_code="gold").count()
    gold_row = table.locator("tr", has=page.get_by_role("link", name="Gold card"))
    expect(gold_row).to_contain_text(f"{gold_count:,}")

    directory = pathlib.Path(os.environ.get("INTERACTION_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / "offer-report.png"), full_page=True)

    # Narrowed to one space in the side panel: the rows follow.
    page.get_by_role("button", name="Show filters").click()
    page.get_by_role("button", name="Space", exact=True).click()
    page.select_option("select[name=space]", str(mail.pk))
    expect(page.locator("#listing-results")).to_contain_text(
        "Newsletter", timeout=8_000
    )

    page.get_by_role("button", name="Actions", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    with open(download.value.path()) as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read())))
    assert {row["Offer code"] for row in rows} == set(HISTORY)
    for row in rows:
        expected = Proposition.objects.filter(offer_code=row["Offer code"], space=mail)
        assert int(row["Propositions"]) == expected.count()
        assert int(row["Rejected"]) == expected.filter(status="rejected").count()

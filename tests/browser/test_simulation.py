"""In a real browser: a delivery manager opens *Simulations* from the admin
menu, fills in a new simulation, watches it reach "Done" while a worker runs
it (the page refreshes itself), and reads the chart, the per-offer table and
the coverage diagnostics.

A screenshot of the result goes to ``$INTERACTION_SCREENSHOTS`` (a
directory) if set, else to the test's temporary directory (the README's
``docs/simulation-result.png`` is this screenshot)."""

import os
import pathlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from interaction.models import OfferWeight, Simulation
from interaction.roles import DELIVERY_MANAGERS, sync_roles
from tests.builders import (
    DAY,
    NOW,
    admin_login,
    make_category,
    make_contact,
    make_offer,
    make_rule,
    make_space,
    publish,
    record,
    run_workers,
)


@pytest.mark.django_db(transaction=True)
def test_a_delivery_manager_simulates_and_reads_the_result(
    browser, live_server, environment, django_user_model, tmp_path
):
    sync_roles(apps)  # after a transactional test that flushed the database
    letters = make_space(
        environment, "letters", channel="email", max_offers=3, real_time=False
    )
    general = make_category(environment, "general")
    adults = make_category(
        environment, "adults", target_filter={"field": "age", "op": ">=", "value": 18}
    )
    offers = {}
    july = {
        "start_date": NOW.replace(month=7, day=1),
        "end_date": NOW.replace(month=7, day=31),
    }
    for category, code, label, weight, fields in (
        (adults, "savings", "Savings account", 6, {}),
        (general, "travel", "Summer travel", 5, july),
        (general, "loan", "Personal loan", 3, {}),
        (general, "insurance", "Home insurance", 2, {}),
        (general, "club", "Members' club", 1, {}),
    ):
        offer = make_offer(category, code, spaces=[letters], title=label, **fields)
        offer.label = label
        offer.save()
        OfferWeight.objects.create(offer=offer, value=str(weight))
        offers[code] = publish(offer)
    make_rule(environment, "weekly", quantity=1, period_days=7, counted_offers="offer")
    make_rule(
        environment,
        "loan-budget",
        global_capping=True,
        quantity=6,
        period_days=1,
        offer_condition={"field": "offer.code", "op": "=", "value": "loan"},
    )
    contacts = [make_contact(age=12 + 4 * number) for number in range(12)]
    for contact in contacts[::3]:
        record(offers["insurance"], letters, contact, when=NOW - 2 * DAY)
    delivery = django_user_model.objects.create_user("delivery", password="pw")
    delivery.groups.add(Group.objects.get(name=DELIVERY_MANAGERS))
    environment.users.add(delivery)

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    admin_login(page, live_server.url, "delivery", "pw")
    page.get_by_role("link", name="Simulations").click()
    page.get_by_role("link", name="New simulation").click()
    page.fill("input[name=name]", "June letters")
    page.select_option("select[name=space]", str(letters.pk))
    page.fill("input[name=count]", "3")
    page.fill("input[name=contact_date]", NOW.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=seed]", "7")
    page.get_by_role("button", name="Simulate").click()

    status = page.locator("[data-job-status]")
    expect(status).to_have_text("Queued")
    run_workers()
    expect(status).to_have_text("Done", timeout=30_000)  # no reload by hand

    results = Simulation.objects.get().results
    expect(page.locator("[data-figure=population]")).to_have_text("12")
    expect(page.locator("[data-figure=propositions]")).to_have_text(
        str(results["propositions"])
    )
    chart = page.locator("[data-simulation-chart] svg")
    expect(chart).to_be_visible()
    expect(chart.locator("rect").first).to_be_visible()
    table = page.locator("[data-simulation-offers]")
    for offer in results["offers"]:
        row = table.locator(f"tr[data-offer={offer['code']}]")
        expect(row.locator("td").first).to_have_text(str(offer["total"]))
    diagnostics = page.locator("[data-simulation-diagnostics]")
    expect(diagnostics.get_by_role("link", name="Adults")).to_be_visible()
    expect(diagnostics.get_by_role("link", name="Weekly")).to_be_visible()
    expect(diagnostics.get_by_role("link", name="Summer travel")).to_be_visible()

    directory = pathlib.Path(os.environ.get("INTERACTION_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    # The whole result in one picture (the admin scrolls inside its layout).
    page.set_viewport_size({"width": 1400, "height": 2300})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(directory / "simulation-result.png"), full_page=True)

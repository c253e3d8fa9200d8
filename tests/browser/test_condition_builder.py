"""In a real browser: an offer manager builds a nested target filter with the
condition builder (no JSON typed), sees how many contacts match, saves,
reopens the offer and finds the filter unchanged; the JSON view round-trips.

A screenshot of the builder goes to ``$INTERACTION_SCREENSHOTS`` (a
directory) if set, else to the test's temporary directory; the README's
``docs/condition-builder.png`` is that screenshot."""

import datetime
import json
import os
import pathlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from interaction.models import Offer
from interaction.roles import OFFER_MANAGERS, sync_roles
from tests.builders import (
    admin_login,
    make_category,
    make_contact,
    make_offer,
    make_space,
    url,
)

#: What the manager builds: French contacts who are adults or gold members.
EXPECTED = {
    "all": [
        {"field": "country", "op": "=", "value": "FR"},
        {
            "any": [
                {"field": "age", "op": ">=", "value": 18},
                {"field": "loyalty_tier", "op": "=", "value": "gold"},
            ]
        },
        {"field": "signup_date", "op": ">=", "value": {"today": -30}},
    ]
}
SUMMARY = (
    "Country is “FR” and (Age is at least 18 or Loyalty tier is Gold) "
    "and Signup date is on or after 30 days ago."
)


def _screenshot(locator, tmp_path, name):
    directory = pathlib.Path(os.environ.get("INTERACTION_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(directory / f"{name}.png"))


def _comparison(builder, index):
    return builder.locator(".interaction-condition__comparison").nth(index)


def _manager_page(browser, live_server, environment, django_user_model):
    """A browser page logged in as an offer manager of ``environment``."""
    manager = django_user_model.objects.create_user("manager", password="pw")
    manager.groups.add(Group.objects.get(name=OFFER_MANAGERS))
    environment.users.add(manager)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(8_000)
    page.set_default_navigation_timeout(30_000)
    admin_login(page, live_server.url, "manager", "pw")
    return page


@pytest.mark.django_db(transaction=True)
def test_an_offer_manager_builds_a_nested_filter_without_json(
    browser, live_server, environment, django_user_model, tmp_path, settings
):
    sync_roles(apps)  # after a transactional test that flushed the database
    # Autosave racing "Save draft" on a new offer is issue 13's point 8, not
    # the builder's: every change here is the builder's own.
    settings.WAGTAIL_AUTOSAVE_INTERVAL = 0
    category = make_category(environment, "cards")
    make_space(environment, "home-banner")
    recent = datetime.date.today() - datetime.timedelta(days=3)
    make_contact(country="FR", age=36, loyalty_tier="none", signup_date=recent)
    make_contact(country="FR", age=15, loyalty_tier="gold", signup_date=recent)
    make_contact(country="FR", age=15, loyalty_tier="none", signup_date=recent)
    make_contact(country="GB", age=50, loyalty_tier="gold", signup_date=recent)
    make_contact(country="FR", age=40, loyalty_tier="gold")  # signed up in 2024

    page = _manager_page(browser, live_server, environment, django_user_model)
    page.goto(live_server.url + url(Offer, "add"))
    page.select_option("select[name=category]", str(category.pk))
    page.fill("input[name=label]", "Gold card")
    page.fill("input[name=code]", "gold-card")
    page.get_by_role("tab", name="Targeting").click()

    builder = page.locator(
        "[data-controller=condition-builder]:has([name=target_filter])"
    )
    summary = builder.locator(".interaction-condition__summary")
    expect(summary).to_have_text("No condition: always true.")
    expect(builder.locator("textarea[name=target_filter]")).to_be_hidden()
    expect(builder.locator("textarea[name=target_filter]")).to_have_value("")

    # Country is FR.
    builder.get_by_role("button", name="+ Condition").click()
    country = _comparison(builder, 0)
    country.get_by_label("Field").select_option("country")
    country.get_by_label("Value").fill("FR")
    # (Age at least 18 or gold tier): a nested "any" group.
    builder.get_by_role("button", name="+ Group").first.click()
    group = builder.locator(".interaction-condition__group--any")
    age = _comparison(group, 0)
    age.get_by_label("Field").select_option("age")
    age.get_by_label("Operator").select_option(">=")
    age.get_by_label("Value").fill("18")
    group.get_by_role("button", name="+ Condition").click()
    tier = _comparison(group, 1)
    tier.get_by_label("Field").select_option("loyalty_tier")
    expect(tier.get_by_label("Value")).to_have_js_property("tagName", "SELECT")
    tier.get_by_label("Value").select_option(label="Gold")
    # Signed up within the last 30 days: a date relative to today.
    builder.get_by_role("button", name="+ Condition").last.click()
    signup = _comparison(builder, 3)
    signup.get_by_label("Field").select_option("signup_date")
    signup.get_by_label("Operator").select_option(">=")
    signup.get_by_label("Date", exact=True).select_option("relative")
    signup.get_by_label("Days from today").fill("-30")

    expect(summary).to_have_text(SUMMARY)
    # Two French contacts signed up lately are adults or gold members.
    expect(builder.locator(".interaction-condition__count")).to_have_text(
        "2 of 5 contacts match."
    )
    _screenshot(
        page.locator(".w-panel:has([name=target_filter])").first,
        tmp_path,
        "condition-builder",
    )

    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/edit/**")
    offer = Offer.objects.get(code="gold-card")
    assert offer.target_filter == EXPECTED

    # Reopened: the same tree, drawn again, and the same count.
    page.goto(live_server.url + url(Offer, "edit", offer))
    page.get_by_role("tab", name="Targeting").click()
    expect(summary).to_have_text(SUMMARY)
    expect(_comparison(builder, 2).get_by_label("Value")).to_have_value("gold")
    expect(_comparison(builder, 3).get_by_label("Days from today")).to_have_value("-30")
    expect(builder.locator(".interaction-condition__count")).to_have_text(
        "2 of 5 contacts match."
    )

    # The JSON view shows the same tree, and going back keeps it.
    builder.get_by_role("button", name="Edit as JSON").click()
    textarea = builder.locator("textarea[name=target_filter]")
    expect(textarea).to_be_visible()
    assert json.loads(textarea.input_value()) == EXPECTED
    builder.get_by_role("button", name="Back to the builder").click()
    expect(summary).to_have_text(SUMMARY)
    assert json.loads(textarea.input_value()) == EXPECTED

    # A weight row added on the page gets a builder of its own.
    page.get_by_role("button", name="Add weight").click()
    row_builder = page.locator(
        "[data-controller=condition-builder]:has([name=weights-0-target_filter])"
    )
    row_builder.get_by_role("button", name="+ Condition").click()
    _comparison(row_builder, 0).get_by_label("Field").select_option("age")
    expect(row_builder.locator(".interaction-condition__summary")).to_have_text(
        "Age is 0."
    )
    expect(row_builder.locator(".interaction-condition__count")).to_have_text(
        "0 of 5 contacts match."
    )

    # Removing its only condition leaves the row without one.
    _comparison(row_builder, 0).get_by_role(
        "button", name="Remove this condition"
    ).click()
    row_summary = row_builder.locator(".interaction-condition__summary")
    expect(row_summary).to_have_text("No condition: always true.")
    expect(row_builder.locator("textarea")).to_have_value("")
    # Typed as JSON, drawn by the builder; the call context is not counted.
    row_builder.get_by_role("button", name="Edit as JSON").click()
    row_builder.locator("textarea").fill(
        json.dumps(
            {
                "any": [
                    {"field": "country", "op": "in", "value": ["FR", "BE"]},
                    {"field": "context.device", "op": "=", "value": "mobile"},
                ]
            }
        )
    )
    row_builder.get_by_role("button", name="Back to the builder").click()
    expect(row_summary).to_have_text(
        "Country is one of “FR”, “BE” or context.device is “mobile”."
    )
    expect(_comparison(row_builder, 1).get_by_label("Context name")).to_have_value(
        "device"
    )
    expect(row_builder.locator(".interaction-condition__count")).to_have_text(
        "Not counted: the condition depends on the call or the offer."
    )


@pytest.mark.django_db(transaction=True)
def test_the_primary_key_is_offered_once(
    browser, live_server, environment, django_user_model
):
    # Found in user trials: the field picker listed "ID (number)" and "Id
    # (number)", the same primary key by two names.
    sync_roles(apps)
    category = make_category(environment, "cards")
    kept = make_offer(
        category, "kept", target_filter={"field": "id", "op": "=", "value": 4}
    )
    page = _manager_page(browser, live_server, environment, django_user_model)

    page.goto(live_server.url + url(Offer, "add"))
    page.select_option("select[name=category]", str(category.pk))
    page.get_by_role("tab", name="Targeting").click()
    builder = page.locator(
        "[data-controller=condition-builder]:has([name=target_filter])"
    )
    builder.get_by_role("button", name="+ Condition").click()
    picker = _comparison(builder, 0).get_by_label("Field")
    labels = picker.locator("option").all_inner_texts()
    assert [label for label in labels if label.lower().startswith("id ")] == [
        "ID (number)"
    ]
    assert picker.input_value() != "id"

    # A filter stored on "id" still reads, and keeps its field.
    page.goto(live_server.url + url(Offer, "edit", kept))
    page.get_by_role("tab", name="Targeting").click()
    expect(builder.locator(".interaction-condition__summary")).to_have_text("ID is 4.")
    picker = _comparison(builder, 0).get_by_label("Field")
    expect(picker).to_have_value("id")

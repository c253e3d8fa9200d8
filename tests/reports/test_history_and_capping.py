"""Proposition history and capping reports: filters, links and exports."""

import csv
import io
import re

import pytest
from django.urls import reverse

from interaction.models import CapUsage, Proposition
from tests.builders import make_campaign, make_rule, record, url
from tests.reports.conftest import DAY1, DAY2

pytestmark = pytest.mark.django_db

HISTORY = reverse("interaction_reports:propositions")
CAPPING = reverse("interaction_reports:capping")


@pytest.fixture
def delivery(client, role_user):
    client.force_login(role_user("delivery"))
    return client


def csv_rows(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ({"contact_key": "2"}, {"contact_key": "2"}),
        ({"status": "accepted"}, {"status": "accepted"}),
        ({"offer_code": "silver-card"}, {"offer_code": "silver-card"}),
        ({"channel": "email"}, {"channel": "email"}),
        (
            {"event_date_from": "2026-11-21", "event_date_to": "2026-11-21"},
            {"event_date__date": DAY2.date()},
        ),
    ],
)
def test_history_filters_equal_the_table(
    delivery, history, environment, query, filters
):
    response = delivery.get(HISTORY, query)
    shown = {row.pk for row in response.context["object_list"]}
    expected = set(
        Proposition.objects.filter(environment=environment, **filters).values_list(
            "pk", flat=True
        )
    )
    assert shown == expected and expected
    exported = {
        int(row["Id"])
        for row in csv_rows(delivery.get(HISTORY, {**query, "export": "csv"}))
    }
    assert exported == expected


def test_history_filters_by_space_and_campaign(delivery, history, space, offer):
    campaign = make_campaign(space, offers=[offer])
    in_campaign = record(offer, space, "7", when=DAY1)
    Proposition.objects.filter(pk=in_campaign.pk).update(campaign=campaign)
    rows = delivery.get(HISTORY, {"campaign": campaign.pk}).context["object_list"]
    assert [row.pk for row in rows] == [in_campaign.pk]
    rows = delivery.get(HISTORY, {"space": history["mail"].pk}).context["object_list"]
    assert {row.space_id for row in rows} == {history["mail"].pk}
    assert len(rows) == Proposition.objects.filter(space=history["mail"]).count()


def test_the_history_export_names_environment_space_and_campaign(
    delivery, history, space, offer, environment
):
    campaign = make_campaign(space, offers=[offer])
    in_campaign = record(offer, space, "7", status="accepted", when=DAY2)
    Proposition.objects.filter(pk=in_campaign.pk).update(campaign=campaign)
    rows = {
        int(row["Id"]): row
        for row in csv_rows(delivery.get(HISTORY, {"export": "csv"}))
    }
    row = rows[in_campaign.pk]
    assert (row["Environment"], row["Space"], row["Campaign"]) == (
        environment.code,
        space.code,
        campaign.title,
    )
    assert (row["Offer code"], row["Contact"], row["Status"]) == (
        offer.code,
        "7",
        "accepted",
    )
    assert row["Date"] == str(DAY2)
    others = [r for pk, r in rows.items() if pk != in_campaign.pk]
    assert others and all(r["Campaign"] == "" for r in others)
    assert {r["Space"] for r in others} == {space.code, history["mail"].code}


def test_history_rows_link_to_their_offer(delivery, history, offer):
    html = delivery.get(HISTORY, {"offer_code": "gold-card"}).content.decode()
    assert f'href="{url(type(offer), "inspect", offer)}"' in html


def test_a_deleted_offer_stays_in_the_history_by_its_code(delivery, history):
    history["silver"].delete()
    response = delivery.get(HISTORY, {"offer_code": "silver-card"})
    rows = response.context["object_list"]
    assert len(rows) == 3 and all(row.offer is None for row in rows)
    assert "silver-card" in response.content.decode()


def test_history_visitor_filter(delivery, space, offer):
    record(offer, space, "visitor-abc", visitor=True)
    record(offer, space, "visitor-xyz", visitor=True)
    rows = delivery.get(HISTORY, {"visitor_id": "visitor-abc"}).context["object_list"]
    assert [row.visitor_id for row in rows] == ["visitor-abc"]


def test_a_formula_in_a_cell_is_exported_as_text(delivery, space, offer):
    record(offer, space, '=HYPERLINK("http://evil")')
    rows = csv_rows(delivery.get(HISTORY, {"export": "csv"}))
    assert rows[0]["Contact"] == '\'=HYPERLINK("http://evil")'


def test_an_overlong_filter_is_refused_and_shows_nothing_extra(delivery, history):
    response = delivery.get(HISTORY, {"contact_key": "x" * 5000})
    assert response.status_code == 200
    assert response.context["view"].filters.errors


def test_capping_report_shows_each_offer_budget_per_period(
    delivery, environment, other_environment, space, offer, history
):
    rule = make_rule(
        environment, "weekly-budget", global_capping=True, quantity=10, period_days=7
    )
    partner_rule = make_rule(other_environment, "partner-budget", global_capping=True)
    for when in (DAY1, DAY2):
        record(offer, space, "11", when=when)
    record(history["partner"], history["partner"].spaces.first(), "12", when=DAY1)
    usages = CapUsage.objects.filter(rule=rule)
    assert usages.exists()
    response = delivery.get(CAPPING)
    shown = {
        (row.rule_id, row.offer_id, row.used) for row in response.context["object_list"]
    }
    assert shown == {(u.rule_id, u.offer_id, u.used) for u in usages}
    assert (
        not CapUsage.objects.filter(rule=partner_rule)
        .filter(pk__in=[row.pk for row in response.context["object_list"]])
        .exists()
    )
    exported = csv_rows(delivery.get(CAPPING, {"export": "csv"}))
    gold = [row for row in exported if row["Offer code"] == "gold-card"]
    assert {int(row["Used"]) for row in gold} == {
        u.used for u in usages.filter(offer=offer)
    }
    assert all(row["Budget"] == "10" for row in gold)


def test_capping_report_names_the_channel_a_budget_counts(
    delivery, environment, space, offer
):
    # Found in the demo: a budget over every channel had an empty Channel cell
    # (and one per channel would have shown its code).
    make_rule(environment, "all-channels", global_capping=True, quantity=10)
    make_rule(
        environment,
        "per-channel",
        global_capping=True,
        quantity=10,
        same_channel_only=True,
    )
    record(offer, space, "11", when=DAY1)
    html = delivery.get(CAPPING).content.decode()
    cells = re.findall(r"<td[^>]*>\s*([^<]*?)\s*</td>", html)
    assert "All channels" in cells and "Web" in cells
    assert "web" not in cells

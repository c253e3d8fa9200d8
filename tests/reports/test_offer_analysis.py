"""Offer analysis: each figure equals a count of the proposition table."""

import csv
import io
import re

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from interaction.models import Proposition
from interaction.reports import queries
from tests.builders import DAY, record
from tests.reports.conftest import DAY1, DAY2, DAY3

pytestmark = pytest.mark.django_db

URL = reverse("interaction_reports:offers")


def rows_of(response):
    return {row["offer_code"]: row for row in response.context["object_list"]}


def csv_rows(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def delivery(client, role_user):
    client.force_login(role_user("delivery"))
    return client


def test_per_offer_figures_equal_the_table(delivery, history, counted, environment):
    response = delivery.get(URL)
    assert response.status_code == 200
    rows = rows_of(response)
    assert set(rows) == {"gold-card", "silver-card"}  # not the other environment's
    for code, row in rows.items():
        expected = counted(offer_code=code, environment=environment)
        assert {k: row[k] for k in expected} == expected
    gold = rows["gold-card"]
    assert (gold["accepted"], gold["accepted_rate"]) == (2, 40.0)
    assert (gold["rejected"], gold["rejected_rate"]) == (1, 20.0)
    assert gold["presented"] == 4
    # The page names the environment as the other reports do (its export, by code).
    cells = re.findall(r"<td[^>]*>\s*([^<]*?)\s*</td>", response.content.decode())
    assert environment.label in cells and environment.code not in cells


@pytest.mark.parametrize("by", ["day", "space", "campaign"])
def test_per_day_space_and_campaign_add_up_to_the_table(
    delivery, history, counted, environment, by
):
    rows = delivery.get(URL, {"by": by}).context["object_list"]
    for code in ("gold-card", "silver-card"):
        mine = [row for row in rows if row["offer_code"] == code]
        total = {k: sum(row[k] for row in mine) for k in ("propositions", "accepted")}
        expected = counted(offer_code=code, environment=environment)
        assert total == {k: expected[k] for k in total}
    if by == "day":
        day2 = [
            r
            for r in rows
            if r["offer_code"] == "gold-card" and r["day"] == DAY2.date()
        ]
        assert (
            day2[0]["propositions"]
            == counted(offer_code="gold-card", event_date__date=DAY2.date())[
                "propositions"
            ]
        )
    if by == "space":
        mail = history["mail"]
        row = next(
            r
            for r in rows
            if r["offer_code"] == "silver-card" and r["space_id"] == mail.pk
        )
        assert (
            row["accepted"] == counted(offer_code="silver-card", space=mail)["accepted"]
        )


def test_filters_narrow_the_counted_rows(delivery, history, counted):
    mail = history["mail"]
    response = delivery.get(
        URL,
        {
            "space": mail.pk,
            "event_date_from": DAY3.date().isoformat(),
            "event_date_to": DAY3.date().isoformat(),
        },
    )
    rows = rows_of(response)
    for code, row in rows.items():
        expected = counted(
            offer_code=code,
            space=mail,
            event_date__date=DAY3.date(),
        )
        assert {k: row[k] for k in expected} == expected
    assert rows["silver-card"]["propositions"] == 1
    assert rows["gold-card"]["propositions"] == 1


def test_the_chart_shows_each_day_with_a_data_table(
    delivery, history, counted, environment
):
    response = delivery.get(URL)
    html = response.content.decode()
    assert html.count("<polyline ") == 4  # propositions, presented, accepted, rejected
    assert "Propositions per day" in html
    days = response.context["over_time"]
    assert [d["day"] for d in days] == [DAY1.date(), DAY2.date(), DAY3.date()]
    assert (
        days[0]["propositions"]
        == counted(environment=environment, event_date__date=DAY1.date())[
            "propositions"
        ]
    )
    assert f'<th scope="row">{DAY1.date().isoformat()}</th>' in html


def test_a_deleted_offer_keeps_its_history(delivery, history, counted):
    silver = history["silver"]
    silver.delete()
    rows = rows_of(delivery.get(URL))
    assert rows["silver-card"]["offer_state"] == "deleted"
    assert (
        rows["silver-card"]["propositions"]
        == counted(offer_code="silver-card")["propositions"]
        == 3
    )


def test_an_unpublished_offer_keeps_its_history(delivery, history):
    silver = history["silver"]
    silver.unpublish()
    rows = rows_of(delivery.get(URL))
    assert rows["silver-card"]["offer_state"] == "not live"
    assert rows["silver-card"]["propositions"] == 3


def test_csv_export_contains_the_rows(delivery, history, counted):
    response = delivery.get(URL, {"export": "csv", "by": "space"})
    assert response["Content-Type"] == "text/csv"
    assert response.streaming
    rows = csv_rows(response)
    assert {(r["Offer code"], r["Space"]) for r in rows} == {
        ("gold-card", "Home banner"),
        ("gold-card", "mail"),
        ("silver-card", "Home banner"),
        ("silver-card", "mail"),
    } or len(rows) == 4
    total = sum(int(r["Propositions"]) for r in rows)
    assert total == counted(offer_code__in=["gold-card", "silver-card"])["propositions"]


def test_xlsx_export_contains_the_rows(delivery, history):
    response = delivery.get(URL, {"export": "xlsx"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.active
    values = list(sheet.values)
    heading = list(values[0])
    assert heading[:3] == ["Environment", "Offer code", "Offer"]
    by_code = {row[1]: dict(zip(heading, row, strict=True)) for row in values[1:]}
    assert set(by_code) == {"gold-card", "silver-card"}
    assert by_code["gold-card"]["Propositions"] == 5
    assert by_code["gold-card"]["Accepted %"] == 40.0


def test_the_per_day_chart_equals_the_table(delivery, history, counted, environment):
    """Per day, the chart is added up from the report's own rows (no second
    pass over the propositions): still each day's count of the table."""
    response = delivery.get(URL, {"by": "day"})
    days = response.context["over_time"]
    assert [d["day"] for d in days] == [DAY1.date(), DAY2.date(), DAY3.date()]
    for day in days:
        expected = counted(environment=environment, event_date__date=day["day"])
        assert {k: day[k] for k in expected} == expected
    assert (
        response.context["totals"]["propositions"]
        == counted(environment=environment)["propositions"]
    )


def test_an_export_groups_the_propositions_once(delivery, history, counted):
    """An export writes its rows without the page's table and chart, which
    grouped and decorated every row a second time."""
    with CaptureQueriesContext(connection) as queries:
        response = delivery.get(URL, {"export": "csv", "by": "day"})
        rows = csv_rows(response)
    grouped = [q["sql"] for q in queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1
    assert (
        sum(int(r["Propositions"]) for r in rows)
        == counted(offer_code__in=["gold-card", "silver-card"])["propositions"]
    )
    assert {r["Day"] for r in rows} == {
        d.date().isoformat() for d in (DAY1, DAY2, DAY3)
    }


def test_pages_are_slices_of_the_grouped_rows(
    delivery, history, counted, space, environment
):
    """More rows than a page: each page is its slice of the rows in their
    order, the count is every row's, and the per-day chart every day's."""
    gold = history["gold"]
    for n in range(70):
        record(gold, space, f"p{n}", status="accepted", when=DAY1 - n * DAY)
    mine = Proposition.objects.filter(environment=environment)
    grouped = queries.offer_analysis(mine, queries.BY_DAY)
    expected = [(r["day"], r["offer_code"], r["propositions"]) for r in grouped]
    assert len(expected) == 75  # gold on 72 days, silver on 3
    accepted = counted(environment=environment, status="accepted")["accepted"]
    seen = []
    for number in (1, 2):
        response = delivery.get(URL, {"by": "day", "p": number})
        assert response.context["paginator"].count == len(expected)
        seen += [
            (r["day"], r["offer_code"], r["propositions"])
            for r in response.context["object_list"]
        ]
        days = response.context["over_time"]
        assert len(days) == 72
        assert sum(d["accepted"] for d in days) == accepted
    assert seen == expected
    beyond = delivery.get(URL, {"by": "day", "p": 9})
    assert beyond.context["page_obj"].number == 2
    assert len(beyond.context["object_list"]) == len(expected) - 50


@pytest.mark.parametrize("by", ["offer", "day"])
def test_a_page_groups_the_propositions_once(
    delivery, history, counted, environment, by
):
    """Fewer rows than a page (or the last page): the paginator asks for the
    rows left, not a page's worth, and the statement that counted them
    answers it; the page's figures are still every row's."""
    with CaptureQueriesContext(connection) as captured:
        response = delivery.get(URL, {"by": by})
    statements = [q["sql"] for q in captured if "WITH grouped" in q["sql"]]
    assert len(statements) == 1
    rows = response.context["object_list"]
    assert 0 < len(rows) == response.context["paginator"].count < 50
    assert (
        sum(r["propositions"] for r in rows)
        == counted(environment=environment)["propositions"]
    )


def test_large_figures_are_thousand_separated_on_the_page_not_in_exports(
    delivery, offer, space
):
    first = record(offer, space, "1", status="accepted", when=DAY1)
    copies = []
    for number in range(1497):
        copy = Proposition.objects.get(pk=first.pk)
        copy.pk = None
        copy.contact_key = str(number + 2)
        copies.append(copy)
    Proposition.objects.bulk_create(copies)

    html = delivery.get(URL).content.decode()
    summary = re.search(
        r'interaction-report-summary".*?<p>\s*(.*?)\s*</p>', html, re.S
    )[1]
    cells = re.findall(r"<td[^>]*>\s*([^<]*?)\s*</td>", html)
    exported = csv_rows(delivery.get(URL, {"export": "csv"}))

    assert summary.startswith("1,498 propositions, 1,498 presented, 1,498 accepted")
    assert "1,498" in cells and "1498" not in cells
    assert "<td>1,498</td>" in html  # the chart's data table
    assert [row["Propositions"] for row in exported] == ["1498"]

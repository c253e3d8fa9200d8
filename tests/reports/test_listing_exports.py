"""Every catalogue listing's CSV and XLSX export returns its rows (they were
empty), only of the user's environments, streamed and formula-safe."""

import csv
import datetime
import io

import openpyxl
import pytest
from wagtail.admin.views.mixins import SpreadsheetExportMixin

from interaction.models import (
    ApiKey,
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    TypologyRule,
)
from interaction.reports.exports import StreamingExportMixin
from tests.builders import make_category, make_offer, make_rule, make_space, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(environment, other_environment, offer, space, category):
    make_rule(environment, "weekly")
    make_rule(other_environment, "partner-weekly")
    partner_category = make_category(other_environment, "partner")
    make_offer(
        partner_category,
        "partner-card",
        spaces=[make_space(other_environment, "partner-banner")],
    )
    key = ApiKey(label="Site")
    secret = key.issue()
    key.save()
    key.environments.add(environment)
    return {"secret": secret}


def csv_rows(response):
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("model", "heading", "mine", "theirs"),
    [
        (Offer, "Code", "gold-card", "partner-card"),
        (OfferCategory, "Code", "cards", "partner"),
        (OfferSpace, "Code", "home-banner", "partner-banner"),
        (TypologyRule, "Code", "weekly", "partner-weekly"),
        (Environment, "Code", "customers", "partners"),
    ],
)
def test_csv_and_xlsx_exports_contain_the_users_rows(
    client, role_user, catalogue, model, heading, mine, theirs
):
    client.force_login(role_user("delivery"))
    listing = url(model, "list")
    rows = csv_rows(client.get(listing, {"export": "csv"}))
    codes = {row[heading] for row in rows}
    assert mine in codes and theirs not in codes
    assert all(any(value for value in row.values()) for row in rows)
    response = client.get(listing, {"export": "xlsx"})
    sheet = openpyxl.load_workbook(
        io.BytesIO(b"".join(response.streaming_content))
    ).active
    values = list(sheet.values)
    column = values[0].index(heading)
    assert {row[column] for row in values[1:]} == codes
    assert "Download CSV" in client.get(listing).content.decode()


def test_the_offer_export_names_category_environment_and_state(
    client, role_user, catalogue
):
    client.force_login(role_user("delivery"))
    (row,) = csv_rows(client.get(url(Offer, "list"), {"export": "csv"}))
    assert row["Code"] == "gold-card"
    assert row["Category"] and row["Environment"] == "Customers"
    assert row["Live"] == "True"


def test_the_export_follows_the_listing_filters(client, role_user, catalogue, category):
    make_offer(category, "draft-card", live=False)
    client.force_login(role_user("administrator"))
    rows = csv_rows(client.get(url(Offer, "list"), {"export": "csv", "live": "false"}))
    assert [row["Code"] for row in rows] == ["draft-card"]


def test_the_api_key_export_never_holds_the_secret(client, role_user, catalogue):
    client.force_login(role_user("administrator"))
    response = client.get(url(ApiKey, "list"), {"export": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert "Site" in body
    assert catalogue["secret"] not in body
    assert catalogue["secret"].rsplit("_", 1)[-1] not in body


def test_a_label_that_looks_like_a_formula_is_exported_as_text(
    client, role_user, category
):
    evil = make_offer(category, "evil")
    Offer.objects.filter(pk=evil.pk).update(label="=cmd|' /C calc'!A0")
    client.force_login(role_user("administrator"))
    rows = csv_rows(client.get(url(Offer, "list"), {"export": "csv"}))
    assert rows[0]["Label"] == "'=cmd|' /C calc'!A0"


def test_each_cell_is_prepared_by_its_own_type():
    """The preparing function is chosen once per column and type of value:
    a column of mixed types still prepares each value by its type."""

    class Export(StreamingExportMixin, SpreadsheetExportMixin):
        custom_field_preprocess = {"code": {"csv": str.upper}}

    export = Export()
    cells = [
        export.preprocess_field_value("any", value, "csv")
        for value in (["a", "b"], "=1+1", 3, None, "plain", ["c"])
    ]
    assert cells == ["a, b", "'=1+1", 3, None, "plain", "c"]
    assert export.preprocess_field_value("code", "abc", "csv") == "ABC"
    when = datetime.datetime(2026, 11, 20, 10, tzinfo=datetime.UTC)
    assert export.preprocess_field_value("any", when, "xlsx") == when.replace(
        tzinfo=None
    )

"""Who opens the reports, and what each user sees: their environments only."""

import pytest
from django.urls import reverse

from tests.builders import assert_refused

pytestmark = pytest.mark.django_db

REPORTS = ("offers", "propositions", "capping")


def report_url(name, **query):
    return reverse(f"interaction_reports:{name}")


@pytest.mark.parametrize("name", REPORTS)
@pytest.mark.parametrize("role", ["delivery", "administrator"])
def test_delivery_managers_and_administrators_open_every_report(
    client, role_user, name, role
):
    client.force_login(role_user(role))
    assert client.get(report_url(name)).status_code == 200
    assert client.get(report_url(name) + "?export=csv").status_code == 200


@pytest.mark.parametrize("name", REPORTS)
@pytest.mark.parametrize("role", ["manager", "approver"])
def test_other_roles_are_refused(client, role_user, name, role):
    client.force_login(role_user(role))
    assert_refused(client.get(report_url(name)))
    assert_refused(client.get(report_url(name) + "?export=csv"))
    results = reverse(f"interaction_reports:{name}_results")
    assert_refused(client.get(results))


def test_the_reports_menu_lists_them_for_delivery_managers_only(client, role_user):
    client.force_login(role_user("delivery"))
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    for name in REPORTS:
        assert report_url(name) in html
    client.force_login(role_user("manager"))
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    for name in REPORTS:
        assert report_url(name) not in html


@pytest.mark.parametrize("name", ["offers", "propositions"])
def test_a_user_sees_only_their_environments(
    client, role_user, history, name, other_environment
):
    client.force_login(role_user("delivery"))
    response = client.get(report_url(name), {"export": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert "gold-card" in body
    assert "partner-card" not in body
    # The filters do not offer the other environment, its spaces or offers.
    html = client.get(report_url(name)).content.decode()
    assert "Partners" not in html and "partner-banner" not in html
    # Asking for it by id in the filter is refused as an invalid choice.
    response = client.get(report_url(name), {"environment": other_environment.pk})
    assert "partner-card" not in response.content.decode()


def test_a_user_of_both_environments_sees_both(
    client, role_user, history, environment, other_environment
):
    client.force_login(
        role_user("delivery", environments=(environment, other_environment))
    )
    rows = client.get(report_url("offers")).context["object_list"]
    assert {row["offer_code"] for row in rows} == {
        "gold-card",
        "silver-card",
        "partner-card",
    }

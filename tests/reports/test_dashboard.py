"""The Interaction panel of the admin home: the last 7 days, scoped."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from interaction.models import Proposition
from interaction.reports import dashboard
from tests.builders import make_offer, record

pytestmark = pytest.mark.django_db

HOME = reverse("wagtailadmin_home")


@pytest.fixture
def recent(history):
    """Moves the history into the last 7 days (one old row stays out)."""
    now = timezone.now()
    for i, proposition in enumerate(Proposition.objects.order_by("pk")):
        proposition.event_date = now - datetime.timedelta(hours=i + 1)
        proposition.save(update_fields=["event_date"])
    old = Proposition.objects.filter(offer_code="silver-card").first()
    Proposition.objects.filter(pk=old.pk).update(
        event_date=now - datetime.timedelta(days=30)
    )
    return history


def test_figures_are_the_last_7_days_of_the_users_environments(
    role_user, recent, environment
):
    user = role_user("delivery")
    figures = dashboard.figures(user)
    week = Proposition.objects.filter(
        environment=environment,
        event_date__gte=timezone.now() - datetime.timedelta(days=7),
    )
    assert figures["totals"]["propositions"] == week.count() == 7
    accepted = week.filter(status="accepted").count()
    assert figures["totals"]["accepted"] == accepted
    assert figures["totals"]["accepted_rate"] == round(100 * accepted / 7, 1)
    assert [row["offer_code"] for row in figures["top"]] == ["gold-card", "silver-card"]
    # Bronze card is live and got nothing; the other environment's offer is not listed.
    assert [item["offer"].code for item in figures["idle_offers"]] == ["bronze-card"]


def test_the_panel_is_on_the_home_page_for_the_interaction_roles(
    client, role_user, recent
):
    for role in ("delivery", "manager", "administrator"):
        client.force_login(role_user(role, username=f"home-{role}"))
        html = client.get(HOME).content.decode()
        assert "Interaction: the last 7 days" in html
        assert "Bronze-Card" in html  # the idle offer's label
        # Administrators work in every environment; the others in theirs.
        assert ("Partner-Card" in html) == (role == "administrator")
    client.force_login(role_user("delivery", username="home-delivery-2"))
    html = client.get(HOME).content.decode()
    assert reverse("interaction_reports:offers") in html


def test_no_panel_for_users_outside_the_roles(client, django_user_model, recent):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("editor", password="x")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    html = client.get(HOME).content.decode()
    assert "Interaction: the last 7 days" not in html


def test_an_offer_proposed_this_week_is_not_idle(role_user, recent, category, space):
    fresh = make_offer(category, "fresh-card", spaces=[space])
    record(fresh, space, "42", when=timezone.now())
    idle = [
        item["offer"].code
        for item in dashboard.figures(role_user("delivery"))["idle_offers"]
    ]
    assert "fresh-card" not in idle


def test_one_proposition_is_counted_in_the_singular(client, role_user, space, offer):
    # Found in the demo: "1 propositions, 0 accepted".
    record(offer, space, "42", when=timezone.now())
    client.force_login(role_user("delivery"))
    html = client.get(HOME).content.decode()
    assert "<strong>1</strong> proposition, <strong>0</strong> accepted" in html

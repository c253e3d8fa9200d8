"""In a real browser: an approver compares two revisions of an offer under
review and sees its target filter and weights in the workflow preview."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect
from wagtail.models import Workflow

from interaction.models import Offer, OfferWeight
from interaction.roles import OFFER_APPROVERS, OFFER_MANAGERS
from tests.builders import DIMENSION, admin_login, make_category, make_offer, make_space


def _user(django_user_model, username, group_name, environment):
    user = django_user_model.objects.create_user(username=username, password="pw")
    user.groups.add(Group.objects.get(name=group_name))
    environment.users.add(user)
    return user


@pytest.mark.django_db(transaction=True)
def test_an_approver_compares_revisions_and_sees_filter_and_weights(
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
    space = make_space(environment, "home-banner")
    offer = make_offer(make_category(environment), spaces=[space], title="Gold card")
    manager = _user(django_user_model, "manager", OFFER_MANAGERS, environment)
    _user(django_user_model, "approver", OFFER_APPROVERS, environment)
    offer = Offer.objects.get(pk=offer.pk)
    offer.target_filter = {"field": "country", "op": "in", "value": ["FR", "BE"]}
    offer.weights.add(OfferWeight(label="Loyal", value="10 + age / 10"))
    offer.save_revision(user=manager)
    Workflow.objects.get(name="Offer approval").start(offer, manager)
    offer = Offer.objects.get(pk=offer.pk)
    first, latest = offer.revisions.order_by("pk")[:2]
    viewset = Offer.snippet_viewset

    page = browser.new_page()
    admin_login(page, live_server.url, "approver", "pw")
    page.goto(
        live_server.url
        + reverse(
            viewset.get_url_name("revisions_compare"),
            args=[offer.pk, first.pk, latest.pk],
        )
    )
    expect(page.locator("body")).not_to_contain_text("do not have permission")
    expect(page.locator("table.listing")).to_contain_text("Target filter")
    expect(page.locator("table.listing")).to_contain_text("10 + age / 10")

    page.goto(
        live_server.url
        + reverse(
            viewset.get_url_name("workflow_preview"),
            args=[offer.pk, offer.current_workflow_task.pk],
        )
    )
    review = page.locator("section.review")
    expect(review).to_contain_text("Country is one of “FR”, “BE”")
    expect(review.locator("table")).to_contain_text("10 + age / 10")
    expect(review.locator("table")).to_contain_text("Loyal")

    # Wagtail's preview panel opens at a phone's width: nothing is cut off
    # there (the weight rows' table and long values ran off the right edge).
    page.set_viewport_size({"width": 375, "height": 800})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0

"""In a real browser: an offer manager submits an offer, an approver approves it."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from interaction.models import Offer
from interaction.roles import OFFER_APPROVERS, OFFER_MANAGERS
from tests.builders import DIMENSION, make_category, make_space


def _user(django_user_model, username, group_name, environment):
    user = django_user_model.objects.create_user(username=username, password="pw")
    user.groups.add(Group.objects.get(name=group_name))
    environment.users.add(user)
    return user


def _login(page, base_url, username):
    page.goto(f"{base_url}/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


@pytest.mark.django_db(transaction=True)
def test_manager_submits_and_approver_approves(browser, live_server, django_user_model):
    from django.apps import apps

    from interaction.models import Environment
    from interaction.roles import sync_roles

    # A transactional test may run after another one flushed the database.
    sync_roles(apps)
    environment = Environment.objects.create(
        code="customers", label="Customers", dimension=DIMENSION
    )
    category = make_category(environment, "cards")
    make_space(environment, "home-banner")
    _user(django_user_model, "manager", OFFER_MANAGERS, environment)
    _user(django_user_model, "approver", OFFER_APPROVERS, environment)
    base_url = live_server.url

    page = browser.new_page()
    _login(page, base_url, "manager")
    page.goto(base_url + reverse(Offer.snippet_viewset.get_url_name("add")))
    page.select_option("select[name=category]", str(category.pk))
    page.fill("input[name=label]", "Gold card")
    page.fill("input[name=code]", "gold-card")
    page.get_by_label("Home-Banner").check()
    page.locator("footer [data-w-dropdown-target=toggle]").first.click()
    page.get_by_role("button", name="Submit to Offer approval").click()
    page.wait_for_load_state("networkidle")

    offer = Offer.objects.get(code="gold-card")
    assert not offer.live
    assert offer.workflow_in_progress
    page.context.clear_cookies()

    _login(page, base_url, "approver")
    page.goto(
        base_url + reverse(Offer.snippet_viewset.get_url_name("edit"), args=[offer.pk])
    )
    page.locator("footer [data-w-dropdown-target=toggle]").first.click()
    page.get_by_role("button", name="Approve and Publish", exact=True).click()
    page.wait_for_load_state("networkidle")

    page.goto(base_url + reverse(Offer.snippet_viewset.get_url_name("list")))
    row = page.locator("tr", has_text="Gold card")
    expect(row.locator(".w-status").first).to_have_text(
        re.compile(r"^\s*live\s*$", re.I)
    )
    offer.refresh_from_db()
    assert offer.live

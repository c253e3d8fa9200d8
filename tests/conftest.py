"""Shared fixtures: environments, a live category, space and offer, a contact,
role users, the browser. Helpers (builders) are in ``tests/builders.py``."""

import datetime
import os
import shutil

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connections

from interaction.delivery import versions
from interaction.models import Environment
from interaction.roles import (
    ADMINISTRATORS,
    DELIVERY_MANAGERS,
    OFFER_APPROVERS,
    OFFER_MANAGERS,
)
from tests.builders import (
    DIMENSION,
    make_category,
    make_offer,
    make_page_offers,
    make_space,
)
from tests.testapp.models import Contact

ROLE_NAMES = {
    "administrator": ADMINISTRATORS,
    "manager": OFFER_MANAGERS,
    "approver": OFFER_APPROVERS,
    "delivery": DELIVERY_MANAGERS,
}


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    versions.forget()


@pytest.fixture
def environment(db):
    return Environment.objects.create(
        code="customers", label="Customers", dimension=DIMENSION
    )


@pytest.fixture
def other_environment(db):
    return Environment.objects.create(
        code="partners", label="Partners", dimension=DIMENSION
    )


@pytest.fixture
def anonymous_environment(db):
    return Environment.objects.create(code="visitors", label="Visitors")


@pytest.fixture
def category(environment):
    return make_category(environment)


@pytest.fixture
def space(environment):
    return make_space(environment)


@pytest.fixture
def offer(category, space):
    return make_offer(category, spaces=[space], title="Gold card")


@pytest.fixture
def request_for(rf, contact):
    """A request for ``contact`` (the tests' resolver reads X-Contact)."""
    return rf.get("/", HTTP_X_CONTACT=str(contact.pk))


@pytest.fixture
def page_spaces(category):
    """A page's hero (one offer) and sidebar (three), live in ``category``'s
    environment, sharing four offers (``make_page_offers``)."""
    hero = make_space(category.environment, "hero")
    sidebar = make_space(category.environment, "sidebar", max_offers=3)
    make_page_offers(category, [hero, sidebar])
    return hero, sidebar


@pytest.fixture
def role_user(django_user_model, environment):
    """``role_user("manager")``: a user of that role allowed in ``environment``."""

    def make(role, *, environments=(environment,), username=None):
        user = django_user_model.objects.create_user(
            username=username or role, password="password"
        )
        user.groups.add(Group.objects.get(name=ROLE_NAMES[role]))
        for allowed in environments:
            allowed.users.add(user)
        return django_user_model.objects.get(pk=user.pk)

    return make


@pytest.fixture
def contact(db):
    return Contact.objects.create(
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        age=36,
        country="GB",
        signup_date=datetime.date(2024, 1, 1),
    )


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser():
    """Debian's Chromium driven by Playwright; skipped without it, unless CI."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("INTERACTION_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is not installed")
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # the test makes between browser steps are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        # ORM calls made while Playwright runs use a context of their own; close
        # their connections here, or the test database cannot be dropped.
        connections.close_all()
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]

"""A demo that never stumbles: SQLite that waits instead of "database is
locked", mail on the console, the API docs offline, a save that loses a race
with autosave answered by a message."""

import importlib
import sys

import pytest
from django.contrib.staticfiles import finders
from django.db.backends.sqlite3.base import DatabaseWrapper
from home.models import HomePage
from wagtail.models import Page, Site

from interaction.models import OfferSpace
from tests.builders import admin_form_data, make_space, url


@pytest.fixture
def demo_settings(monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "test")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    sys.modules.pop("demo.settings", None)
    yield importlib.import_module("demo.settings")
    sys.modules.pop("demo.settings", None)


def test_the_demos_sqlite_uses_a_write_ahead_log_and_waits(demo_settings, tmp_path, db):
    settings = {
        **demo_settings.DATABASES["default"],
        "NAME": str(tmp_path / "demo.sqlite3"),
        "TIME_ZONE": None,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "ATOMIC_REQUESTS": False,
    }
    connection = DatabaseWrapper(settings)
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 20_000
        assert connection.transaction_mode == "IMMEDIATE"
    finally:
        connection.close()


def test_the_demo_prints_mail_and_serves_the_api_docs_offline(demo_settings):
    assert (
        demo_settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
    )
    assert "ninja" in demo_settings.INSTALLED_APPS
    assert demo_settings.WAGTAIL_GRAVATAR_PROVIDER_URL is None
    assert demo_settings.WAGTAIL_ENABLE_UPDATE_CHECK is False


def test_the_api_docs_page_loads_swagger_from_local_static_files(client, db):
    html = client.get("/api/interaction/v1/docs").content.decode()

    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr.net" not in html


def test_a_create_that_loses_a_race_with_autosave_is_a_form_error(
    client, role_user, environment, monkeypatch
):
    make_space(environment, "taken")
    client.force_login(role_user("administrator"))
    add_url = url(OfferSpace, "add")
    data = admin_form_data(
        client, add_url, environment=str(environment.pk), label="Taken", code="taken"
    )
    # As when autosave inserted the row between this save's checks and its
    # own insert: the checks pass, the insert breaks the unique code.
    monkeypatch.setattr(OfferSpace, "validate_unique", lambda self, exclude=None: None)

    response = client.post(add_url, data)

    assert response.status_code == 200
    assert "has just created an object with the same code" in response.content.decode()
    assert OfferSpace.objects.filter(code="taken").count() == 1


@pytest.mark.urls("demo.urls")
def test_the_demo_has_a_favicon(client, db):
    # Found in user trials: every page of the demo logged a 404 for
    # /favicon.ico.
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response.url == "/static/home/favicon.ico"
    with open(finders.find("home/favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file
    # Pages link it too.
    home = Page.get_first_root_node().add_child(
        instance=HomePage(title="Harbour", slug="harbour")
    )
    Site.objects.update(root_page=home)
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/home/favicon.ico"' in html

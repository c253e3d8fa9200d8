"""A publish in one process is served by every other, with no shared cache."""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection

from interaction.delivery import snapshot, versions
from interaction.delivery.propose import propose
from interaction.engine.call import Call

ROOT = Path(__file__).resolve().parents[2]


def live_codes(space, contact):
    result = propose(Call(space=space.code, contact=str(contact.pk)), store=False)
    return [p.offer.code for p in result.propositions]


def in_another_process(code: str) -> None:
    """Run ``code`` in a fresh interpreter on the same database."""
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two processes need a shared database"
)
@pytest.mark.django_db(transaction=True)
def test_an_unpublish_in_another_process_is_served_within_the_interval(
    offer, space, contact, settings
):
    settings.INTERACTION_VERSION_CHECK_SECONDS = 1.0
    assert live_codes(space, contact) == ["gold-card"]

    in_another_process(
        "from interaction.models import Offer; "
        f"Offer.objects.get(pk={offer.pk}).unpublish()"
    )

    deadline = time.monotonic() + 1.5
    while live_codes(space, contact) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_codes(space, contact) == []


def test_the_version_is_read_at_most_once_per_interval(
    offer, space, contact, settings, django_assert_num_queries
):
    settings.INTERACTION_VERSION_CHECK_SECONDS = 60
    live_codes(space, contact)

    # The contact query only: no version query within the interval.
    with django_assert_num_queries(1):
        live_codes(space, contact)


def test_this_process_sees_its_own_publish_at_once(offer, space, contact, settings):
    settings.INTERACTION_VERSION_CHECK_SECONDS = 60
    assert live_codes(space, contact) == ["gold-card"]

    offer.unpublish()

    assert live_codes(space, contact) == []


def test_a_version_store_outage_serves_the_catalogue_compiled_last(
    offer, space, contact, settings, caplog
):
    settings.INTERACTION_VERSION_CHECK_SECONDS = 0
    compiled = snapshot.get_snapshot()
    failing = mock.patch.object(
        versions.CatalogueVersion.objects,
        "filter",
        side_effect=OperationalError("the database is down"),
    )

    with failing, caplog.at_level(logging.WARNING, logger=versions.__name__):
        assert snapshot.get_snapshot() is compiled

    assert "serving the catalogue compiled last" in caplog.text


def test_a_missing_version_row_is_recreated(offer, space, contact):
    versions.CatalogueVersion.objects.all().delete()
    versions.forget()

    assert live_codes(space, contact) == ["gold-card"]
    assert versions.CatalogueVersion.objects.count() == 1


def test_a_stale_setting_is_reported_by_the_system_checks(settings, capsys):
    settings.INTERACTION_CACHE = "default"
    settings.INTERACTION_VERSION_CHECK_SECONDS = 3600

    call_command("check", "--tag", "interaction")
    captured = capsys.readouterr()
    output = captured.err + captured.out

    assert "interaction.W002" in output
    assert "interaction.W003" in output

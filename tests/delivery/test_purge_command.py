"""Propositions older than the retention period are purged; recent ones stay."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from interaction.models import Proposition


def _proposition(offer, space, days_ago):
    return Proposition.objects.create(
        environment=offer.environment,
        offer=offer,
        offer_code=offer.code,
        space=space,
        channel=space.channel,
        contact_key="1",
        rank=1,
        weight=1.0,
        event_date=timezone.now() - datetime.timedelta(days=days_ago),
    )


def test_purge_deletes_only_propositions_older_than_the_retention(offer, space):
    old = _proposition(offer, space, days_ago=400)
    recent = _proposition(offer, space, days_ago=10)
    out = StringIO()

    call_command("interaction_purge_propositions", stdout=out)

    assert list(Proposition.objects.all()) == [recent]
    assert not Proposition.objects.filter(pk=old.pk).exists()
    assert "Deleted 1 proposition(s) older than 365 days." in out.getvalue()


def test_purge_dry_run_and_custom_retention(offer, space):
    _proposition(offer, space, days_ago=40)
    out = StringIO()

    call_command("interaction_purge_propositions", days=30, dry_run=True, stdout=out)

    assert "1 proposition(s) older than 30 days." in out.getvalue()
    assert Proposition.objects.count() == 1


def test_purge_refuses_a_retention_below_one_day(db):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("interaction_purge_propositions", days=0)

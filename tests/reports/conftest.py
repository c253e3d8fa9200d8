"""A small proposition history over two environments, for the report tests."""

import datetime

import pytest

from interaction.models import Proposition
from tests.builders import DAY, make_category, make_offer, make_space, record

#: The days the history spans (UTC).
DAY1 = datetime.datetime(2026, 11, 20, 10, 0, tzinfo=datetime.UTC)
DAY2 = DAY1 + DAY
DAY3 = DAY1 + 2 * DAY


@pytest.fixture
def history(environment, other_environment, category, space, offer):
    """Gold card (live), Silver card (deleted later) and Bronze card (live, never
    proposed) in ``environment``; Partner card in ``other_environment``."""
    mail = make_space(environment, "mail", channel="email")
    silver = make_offer(category, "silver-card", spaces=[space, mail], title="Silver")
    make_offer(category, "bronze-card", spaces=[space], title="Bronze")
    partner_space = make_space(other_environment, "partner-banner")
    partner = make_offer(
        make_category(other_environment, "partner"),
        "partner-card",
        spaces=[partner_space],
        title="Partner",
    )
    rows = [
        (offer, space, "1", "accepted", DAY1),
        (offer, space, "2", "rejected", DAY1),
        (offer, space, "3", "presented", DAY2),
        (offer, space, "4", "proposed", DAY2),
        (offer, mail, "5", "accepted", DAY3),
        (silver, space, "1", "proposed", DAY1),
        (silver, mail, "2", "accepted", DAY2),
        (silver, mail, "3", "rejected", DAY3),
        (partner, partner_space, "9", "accepted", DAY1),
        (partner, partner_space, "8", "accepted", DAY2),
    ]
    for proposed, where, who, status, when in rows:
        record(proposed, where, who, status=status, when=when)
    return {"gold": offer, "silver": silver, "partner": partner, "mail": mail}


@pytest.fixture
def counted():
    """``counted(**filters)``: the figures counted straight from the table."""
    return _counted


def _counted(**filters):
    rows = Proposition.objects.filter(**filters)
    return {
        "propositions": rows.count(),
        "presented": rows.exclude(status="proposed").count(),
        "accepted": rows.filter(status="accepted").count(),
        "rejected": rows.filter(status="rejected").count(),
    }

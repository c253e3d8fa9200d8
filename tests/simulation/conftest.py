"""Fixtures of the simulation tests: a batch space whose offers are each
held back by one thing (a filter, dates, a rule, a budget), and a population
with some history."""

import pytest

from interaction.models import OfferWeight
from tests.builders import (
    DAY,
    NOW,
    make_category,
    make_contact,
    make_offer,
    make_rule,
    make_space,
    publish,
    record,
)


@pytest.fixture
def letters(environment):
    """A batch-only space showing up to 3 offers."""
    return make_space(
        environment, "letters", channel="email", max_offers=3, real_time=False
    )


@pytest.fixture
def catalogue(environment, letters):
    """Offers of the space, by code: savings (weight 6, adults of a category
    for adults), travel (4, only in July), loan (3), insurance (2), club (1),
    a budget of 4 on loan a day and a rule of one proposition of an offer a
    week."""
    general = make_category(environment, "general")
    adults = make_category(
        environment,
        "adults",
        target_filter={"field": "age", "op": ">=", "value": 18},
    )
    made = {}
    for category, code, weight, fields in (
        (adults, "savings", 6, {}),
        (
            general,
            "travel",
            4,
            {
                "start_date": NOW.replace(month=7, day=1),
                "end_date": NOW.replace(month=7, day=31),
            },
        ),
        (general, "loan", 3, {}),
        (general, "insurance", 2, {}),
        (general, "club", 1, {}),
    ):
        offer = make_offer(category, code, spaces=[letters], **fields)
        OfferWeight.objects.create(offer=offer, value=str(weight))
        made[code] = publish(offer)
    make_rule(environment, "weekly", quantity=1, period_days=7, counted_offers="offer")
    make_rule(
        environment,
        "loan-budget",
        global_capping=True,
        quantity=4,
        period_days=1,
        offer_condition={"field": "offer.code", "op": "=", "value": "loan"},
    )
    return made


@pytest.fixture
def population(catalogue, letters):
    """Ten contacts aged 12 to 57; the even ones got insurance three days ago."""
    contacts = [
        make_contact(age=12 + 5 * number, country="FR" if number % 2 else "BE")
        for number in range(10)
    ]
    for number, contact in enumerate(contacts):
        if number % 2 == 0:
            record(catalogue["insurance"], letters, contact, when=NOW - 3 * DAY)
    return contacts

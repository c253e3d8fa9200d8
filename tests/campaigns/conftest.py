"""Fixtures of the campaign run tests: a mailing space with offers, contacts,
and the database worker of django-tasks run in this process."""

import pytest

from interaction.models import OfferWeight
from tests.builders import (
    make_category,
    make_contact,
    make_offer,
    make_space,
    publish,
    run_workers,
)


@pytest.fixture
def mailing(environment):
    """A batch-only space showing up to 3 offers."""
    return make_space(
        environment, "mailing", channel="email", max_offers=3, real_time=False
    )


@pytest.fixture
def offers(environment, mailing):
    """gold (weight 5), silver (3), bronze (3), basic (1), teen (age < 18, 9)."""
    cards = make_category(environment, "cards")
    made = {}
    for code, weight, target in (
        ("gold", 5, None),
        ("silver", 3, None),
        ("bronze", 3, None),
        ("basic", 1, None),
        ("teen", 9, {"field": "age", "op": "<", "value": 18}),
    ):
        offer = make_offer(cards, code, spaces=[mailing], target_filter=target)
        OfferWeight.objects.create(offer=offer, value=str(weight))
        made[code] = publish(offer)
    return made


@pytest.fixture
def population(db):
    """Twelve contacts: ages 10 to 65, French and Belgian."""
    return [
        make_contact(age=10 + 5 * number, country="FR" if number % 2 else "BE")
        for number in range(12)
    ]


@pytest.fixture
def work():
    """``work(worker_id)``: the queued campaign tasks run by a database worker
    in this thread (``tests.builders.run_workers``)."""
    return run_workers

"""Typology rules (SPEC §2, §5 step 6): each variant at its edge."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from interaction.models import TypologyRule

from .conftest import make_category, make_offer, make_space
from .test_engine_eligibility import (
    NOW,
    ask,
    codes,
    dropped,
    make_contact,
    record,
)

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
SECOND = datetime.timedelta(seconds=1)


def rule(environment, code="rule", **fields):
    values = {"label": code.title(), "period_days": 7, "quantity": 1}
    values.update(fields)
    return TypologyRule.objects.create(environment=environment, code=code, **values)


@pytest.fixture
def contact(db):
    return make_contact()


@pytest.fixture
def web(environment):
    return make_space(environment, "web-banner", channel="web", max_offers=10)


@pytest.fixture
def email(environment):
    return make_space(environment, "newsletter", channel="email", max_offers=10)


@pytest.fixture
def catalogue(environment, web, email):
    """Two categories, two offers each, on both spaces."""
    cards = make_category(environment, "cards")
    loans = make_category(environment, "loans")
    return {
        code: make_offer(category, code, spaces=[web, email])
        for category, code in (
            (cards, "gold"),
            (cards, "silver"),
            (loans, "mortgage"),
            (loans, "car-loan"),
        )
    }


def shown(space, contact, **call):
    return sorted(codes(ask(space, contact, count=10, **call)))


ALL_OFFERS = ["car-loan", "gold", "mortgage", "silver"]


# Quantity


@pytest.mark.parametrize(("history", "excluded"), [(0, False), (2, False), (3, True)])
def test_quantity_n_minus_one_versus_n(
    environment, catalogue, web, contact, history, excluded
):
    rule(environment, quantity=3)
    for _ in range(history):
        record(catalogue["gold"], web, contact, when=NOW - HOUR)

    result = ask(web, contact, count=10)

    assert ("gold" in codes(result)) is not excluded
    if excluded:
        assert dropped(result)["gold"] == (
            "typology rule “rule”: 3 proposition(s) counted in the period, 3 allowed"
        )


# Period


@pytest.mark.parametrize(
    ("offset", "counted"),
    [
        (-7 * DAY, True),
        (-7 * DAY - SECOND, False),
        (-6 * DAY, True),
        (6 * DAY, True),
        (7 * DAY, True),
        (7 * DAY + SECOND, False),
        (-30 * DAY, False),
        (30 * DAY, False),
    ],
)
def test_window_is_the_contact_date_plus_or_minus_the_period(
    environment, catalogue, web, contact, offset, counted
):
    rule(environment, period_days=7)
    record(catalogue["gold"], web, contact, when=NOW + offset)

    assert ("gold" not in shown(web, contact)) is counted


@pytest.mark.parametrize(
    ("offset", "counted"),
    [
        (-(3 * HOUR - SECOND), True),
        (-(3 * HOUR + SECOND), False),
        (2 * HOUR, True),
        (3 * HOUR + SECOND, False),
    ],
)
def test_period_in_hours(environment, catalogue, web, contact, offset, counted):
    rule(environment, period_days=0, period_hours=3)
    record(catalogue["gold"], web, contact, when=NOW + offset)

    assert ("gold" not in shown(web, contact)) is counted


def test_days_and_hours_add_up(environment, catalogue, web, contact):
    rule(environment, period_days=1, period_hours=6)
    record(catalogue["gold"], web, contact, when=NOW - DAY - 5 * HOUR)
    record(catalogue["silver"], web, contact, when=NOW - DAY - 7 * HOUR)

    assert shown(web, contact) == ["car-loan", "mortgage", "silver"]


def test_the_window_follows_the_call_date(environment, catalogue, web, contact):
    rule(environment, period_days=1)
    record(catalogue["gold"], web, contact, when=NOW)

    assert "gold" not in shown(web, contact)
    assert "gold" in shown(web, contact, date=NOW + 2 * DAY)
    assert "gold" in shown(web, contact, date=NOW - 2 * DAY)


# Same channel only


@pytest.mark.parametrize("same_channel_only", [True, False])
def test_same_channel_only(
    environment, catalogue, web, email, contact, same_channel_only
):
    rule(environment, same_channel_only=same_channel_only)
    record(catalogue["gold"], email, contact)

    assert ("gold" in shown(web, contact)) is same_channel_only
    assert "gold" not in shown(email, contact)


def test_same_channel_means_channel_not_space(environment, catalogue, web, contact):
    other_web = make_space(environment, "web-sidebar", channel="web")
    rule(environment, same_channel_only=True)
    record(catalogue["gold"], other_web, contact)

    assert "gold" not in shown(web, contact)


# Offers counted


def test_counted_offers_all(environment, catalogue, web, contact):
    rule(environment, counted_offers="all", quantity=2)
    record(catalogue["gold"], web, contact)
    assert shown(web, contact) == ALL_OFFERS

    record(catalogue["mortgage"], web, contact)
    result = ask(web, contact, count=10)
    assert codes(result) == []
    assert set(dropped(result)) == set(ALL_OFFERS)


def test_counted_offers_same_offer(environment, catalogue, web, contact):
    rule(environment, counted_offers="offer", quantity=2)
    record(catalogue["gold"], web, contact)
    record(catalogue["silver"], web, contact)
    assert shown(web, contact) == ALL_OFFERS

    record(catalogue["gold"], web, contact)
    assert shown(web, contact) == ["car-loan", "mortgage", "silver"]


def test_counted_offers_same_category(environment, catalogue, web, contact):
    rule(environment, counted_offers="category", quantity=2)
    record(catalogue["gold"], web, contact)
    record(catalogue["mortgage"], web, contact)
    assert shown(web, contact) == ALL_OFFERS

    record(catalogue["silver"], web, contact)
    assert shown(web, contact) == ["car-loan", "mortgage"]


def test_counted_offers_rule_offers_share_one_counter(
    environment, catalogue, web, contact
):
    rule(
        environment,
        counted_offers="rule",
        quantity=2,
        offer_condition={"field": "offer.category", "op": "=", "value": "cards"},
    )
    # Loans history does not count and loans are not limited by the rule.
    for _ in range(3):
        record(catalogue["mortgage"], web, contact)
    record(catalogue["gold"], web, contact)
    assert shown(web, contact) == ALL_OFFERS

    record(catalogue["silver"], web, contact)
    result = ask(web, contact, count=10)
    assert sorted(codes(result)) == ["car-loan", "mortgage"]
    assert set(dropped(result)) == {"gold", "silver"}


def test_rule_applying_to_some_offers_counts_them_individually(
    environment, catalogue, web, contact
):
    rule(
        environment,
        counted_offers="offer",
        quantity=1,
        offer_condition={
            "field": "offer.code",
            "op": "in",
            "value": ["gold", "car-loan"],
        },
    )
    for code in ALL_OFFERS:
        record(catalogue[code], web, contact)

    assert shown(web, contact) == ["mortgage", "silver"]


# Statuses counted


@pytest.mark.parametrize(
    ("counted_statuses", "excluding"),
    [
        ("any", {"proposed", "presented", "accepted", "rejected"}),
        ("answered", {"accepted", "rejected"}),
        ("accepted", {"accepted"}),
        ("rejected", {"rejected"}),
    ],
)
@pytest.mark.parametrize(
    "status", ["proposed", "presented", "interested", "accepted", "rejected"]
)
def test_statuses_counted(
    environment, catalogue, web, contact, counted_statuses, excluding, status
):
    rule(environment, counted_statuses=counted_statuses)
    record(catalogue["gold"], web, contact, status=status)

    excluded = status in excluding or counted_statuses == "any"
    assert ("gold" not in shown(web, contact)) is excluded


# Contacts, channel, activity


def test_contact_condition(environment, catalogue, web):
    rule(environment, contact_condition={"field": "country", "op": "=", "value": "FR"})
    french, german = make_contact(country="FR"), make_contact(country="DE")
    record(catalogue["gold"], web, french)
    record(catalogue["gold"], web, german)

    assert "gold" not in shown(web, french)
    assert "gold" in shown(web, german)


def test_history_is_the_contacts_own(environment, catalogue, web, contact):
    rule(environment)
    record(catalogue["gold"], web, make_contact())

    assert shown(web, contact) == ALL_OFFERS


def test_rule_channel(environment, catalogue, web, email, contact):
    rule(environment, channel="email")
    record(catalogue["gold"], web, contact)

    assert "gold" in shown(web, contact)
    assert "gold" not in shown(email, contact)


def test_inactive_rule_is_ignored(environment, catalogue, web, contact):
    rule(environment, active=False)
    record(catalogue["gold"], web, contact)

    assert shown(web, contact) == ALL_OFFERS


def test_rule_of_another_environment_is_ignored(
    environment, other_environment, catalogue, web, contact
):
    rule(other_environment)
    record(catalogue["gold"], web, contact)

    assert shown(web, contact) == ALL_OFFERS


def test_rules_combine(environment, catalogue, web, contact):
    rule(environment, "per-offer", quantity=1)
    rule(
        environment,
        "loans",
        counted_offers="category",
        quantity=1,
        offer_condition={"field": "offer.category", "op": "=", "value": "loans"},
    )
    record(catalogue["gold"], web, contact)
    record(catalogue["mortgage"], web, contact)

    assert shown(web, contact) == ["silver"]


def test_visitors_history_in_an_anonymous_environment(anonymous_environment):
    category = make_category(anonymous_environment, "welcome")
    space = make_space(anonymous_environment, "visitor-banner")
    offer = make_offer(category, "welcome-pack", spaces=[space])
    rule(anonymous_environment)
    record(offer, space, "visitor-1", visitor=True)

    assert codes(ask(space, visitor="visitor-1")) == []
    assert codes(ask(space, visitor="visitor-2")) == ["welcome-pack"]


def test_stored_propositions_feed_the_next_call(environment, catalogue, web, contact):
    rule(environment, quantity=1)

    first = codes(ask(web, contact, count=2, seed=1, store=True))
    second = codes(ask(web, contact, count=2, seed=1, store=True))
    third = codes(ask(web, contact, count=2, seed=1, store=True))

    assert len(first) == len(second) == 2
    assert sorted(first + second) == ALL_OFFERS
    assert third == []


# Global capping


def test_global_capping_counts_every_contacts_propositions(
    environment, catalogue, web, email, contact
):
    rule(environment, global_capping=True, quantity=3, period_days=1)
    record(catalogue["gold"], web, make_contact())
    record(catalogue["gold"], email, make_contact())
    record(catalogue["gold"], web, "visitor-1", visitor=True)
    record(catalogue["silver"], web, make_contact())
    record(catalogue["silver"], web, make_contact(), when=NOW - 2 * DAY)
    record(catalogue["silver"], web, make_contact(), when=NOW + 2 * DAY)

    result = ask(web, contact, count=10)

    assert sorted(codes(result)) == ["car-loan", "mortgage", "silver"]
    assert dropped(result)["gold"] == (
        "global capping rule “rule”: 3 proposition(s) in the period, 3 allowed"
    )


def test_global_capping_same_channel_and_status(
    environment, catalogue, web, email, contact
):
    rule(
        environment,
        global_capping=True,
        quantity=1,
        same_channel_only=True,
        counted_statuses="accepted",
    )
    record(catalogue["gold"], email, make_contact(), status="accepted")
    record(catalogue["silver"], web, make_contact(), status="proposed")
    record(catalogue["mortgage"], web, make_contact(), status="accepted")

    assert shown(web, contact) == ["car-loan", "gold", "silver"]


def test_global_capping_of_some_offers(environment, catalogue, web, contact):
    rule(
        environment,
        global_capping=True,
        quantity=1,
        offer_condition={"field": "offer.category", "op": "=", "value": "loans"},
    )
    for code in ALL_OFFERS:
        record(catalogue[code], web, make_contact())

    assert shown(web, contact) == ["gold", "silver"]


def test_global_capping_is_enforced_when_storing(environment, catalogue, web):
    rule(environment, global_capping=True, quantity=2)

    for _ in range(4):
        ask(web, make_contact(), count=10, store=True)

    assert {offer.code: offer.propositions.count() for offer in catalogue.values()} == {
        code: 2 for code in ALL_OFFERS
    }


def test_capping_rule_of_another_channel_does_not_cap_this_one(
    environment, catalogue, web, email
):
    """An email budget never removes offers from web calls, nor when storing."""
    rule(environment, "web-budget", global_capping=True, quantity=100, channel="web")
    rule(environment, "email-budget", global_capping=True, quantity=1, channel="email")
    record(catalogue["gold"], email, make_contact())

    result = ask(web, make_contact(), count=10, store=True)

    assert sorted(codes(result)) == ALL_OFFERS
    assert "gold" not in shown(email, make_contact())


def test_capping_rule_for_other_contacts_does_not_cap_this_one(
    environment, catalogue, web
):
    rule(
        environment,
        global_capping=True,
        quantity=1,
        contact_condition={"field": "country", "op": "=", "value": "DE"},
    )
    record(catalogue["gold"], web, make_contact())

    french = ask(web, make_contact(country="FR"), count=10, store=True)
    german = ask(web, make_contact(country="DE"), count=10, store=True)

    assert sorted(codes(french)) == ALL_OFFERS
    assert "gold" not in codes(german)


# One history query per call


def queries_of_one_call(environment, number_of_offers):
    space = make_space(environment, f"space-{number_of_offers}", max_offers=5)
    cards = make_category(environment, f"cards-{number_of_offers}")
    loans = make_category(environment, f"loans-{number_of_offers}")
    for number in range(number_of_offers):
        category = cards if number % 2 else loans
        make_offer(category, f"offer-{number_of_offers}-{number}", spaces=[space])
    contact = make_contact()
    for offer in space.offers.all()[:10]:
        record(offer, space, contact, when=NOW - HOUR)
    ask(space, contact, count=5)  # builds the snapshot

    with CaptureQueriesContext(connection) as captured:
        result = ask(space, contact, count=5)

    assert len(result.propositions) == 5
    return [query["sql"] for query in captured.captured_queries]


def test_history_is_read_once_whatever_the_number_of_offers(environment):
    rule(environment, "per-offer", quantity=1)
    rule(environment, "per-category", counted_offers="category", quantity=50)
    rule(environment, "everything", counted_offers="all", quantity=100, period_days=30)
    rule(
        environment,
        "accepted",
        counted_statuses="accepted",
        period_days=0,
        period_hours=2,
    )
    rule(environment, "budget", global_capping=True, quantity=1000)

    few = queries_of_one_call(environment, 20)
    many = queries_of_one_call(environment, 60)

    assert len(few) == len(many)
    history = [sql for sql in many if "interaction_proposition" in sql]
    # One query for the contact's history, one for the global budget.
    assert len(history) == 2
    assert len(many) <= 5


def test_a_contact_and_its_history_come_in_one_query(
    environment, catalogue, web, contact
):
    rule(environment, quantity=1)
    record(catalogue["gold"], web, contact, when=NOW - HOUR)
    ask(web, contact)  # builds the snapshot

    with CaptureQueriesContext(connection) as captured:
        result = ask(web, contact, count=10)

    assert sorted(codes(result)) == ["car-loan", "mortgage", "silver"]
    assert len(captured.captured_queries) == 1


def test_history_of_a_contact_identified_by_another_field(
    environment, catalogue, contact
):
    by_email = make_space(
        environment, "by-email", identification_fields="email", max_offers=10
    )
    for offer in catalogue.values():
        offer.spaces.add(by_email)
        offer.save_revision().publish()
    rule(environment, quantity=1)
    record(catalogue["gold"], by_email, contact, when=NOW - HOUR)

    result = ask(by_email, contact=contact.email, count=10)

    assert result.identified
    assert sorted(codes(result)) == ["car-loan", "mortgage", "silver"]

"""Typology rules against the database: the history and capping queries, rules
compiled from active rows of the right environment, and global caps enforced
when storing. The rules' decisions are tested in memory in
``tests/engine/test_typology.py``.
"""

import random

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from interaction.campaigns import chunks
from interaction.delivery.readers import DatabaseDirectory, DatabaseHistory
from interaction.engine import statuses, typology
from interaction.engine.call import HistoryRequest, HistoryRow, Tally
from interaction.models import CapUsage, Proposition
from tests.builders import (
    DAY,
    HOUR,
    NOW,
    ask,
    codes,
    dropped,
    make_category,
    make_contact,
    make_offer,
    make_rule,
    make_space,
    record,
)
from tests.testapp.models import Contact

ALL_OFFERS = ["car-loan", "gold", "mortgage", "silver"]


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


# The contact's own history, read by the database


def test_history_is_the_contacts_own(environment, catalogue, web, contact):
    make_rule(environment)
    record(catalogue["gold"], web, make_contact())

    assert shown(web, contact) == ALL_OFFERS


def test_inactive_rule_is_ignored(environment, catalogue, web, contact):
    make_rule(environment, active=False)
    record(catalogue["gold"], web, contact)

    assert shown(web, contact) == ALL_OFFERS


def test_rule_of_another_environment_is_ignored(
    environment, other_environment, catalogue, web, contact
):
    make_rule(other_environment)
    record(catalogue["gold"], web, contact)

    assert shown(web, contact) == ALL_OFFERS


def test_visitors_history_in_an_anonymous_environment(anonymous_environment):
    category = make_category(anonymous_environment, "welcome")
    space = make_space(anonymous_environment, "visitor-banner")
    offer = make_offer(category, "welcome-pack", spaces=[space])
    make_rule(anonymous_environment)
    record(offer, space, "visitor-1", visitor=True)

    assert codes(ask(space, visitor="visitor-1")) == []
    assert codes(ask(space, visitor="visitor-2")) == ["welcome-pack"]


def test_stored_propositions_feed_the_next_call(environment, catalogue, web, contact):
    make_rule(environment, quantity=1)

    first = codes(ask(web, contact, count=2, seed=1, store=True))
    second = codes(ask(web, contact, count=2, seed=1, store=True))
    third = codes(ask(web, contact, count=2, seed=1, store=True))

    assert len(first) == len(second) == 2
    assert sorted(first + second) == ALL_OFFERS
    assert third == []


# Global capping: every contact's propositions, counted by the database


def test_global_capping_counts_every_contacts_propositions(
    environment, catalogue, web, email, contact
):
    make_rule(environment, global_capping=True, quantity=3, period_days=1)
    record(catalogue["gold"], web, make_contact())
    record(catalogue["gold"], email, make_contact())
    record(catalogue["gold"], web, "visitor-1", visitor=True)
    record(catalogue["silver"], web, make_contact())
    record(catalogue["silver"], web, make_contact(), when=NOW - 2 * DAY)
    record(catalogue["silver"], web, make_contact(), when=NOW + 2 * DAY)

    result = ask(web, contact, count=10)

    assert sorted(codes(result)) == ["car-loan", "mortgage", "silver"]
    assert dropped(result)["gold"] == (
        "global capping rule “rule”: the 3 propositions allowed in the period "
        "are used up"
    )


def test_global_capping_same_channel_and_status(
    environment, catalogue, web, email, contact
):
    make_rule(
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
    assert dropped(ask(web, contact, count=10))["mortgage"] == (
        "global capping rule “rule”: the 1 proposition allowed in the period is used up"
    )


def test_global_capping_is_enforced_when_storing(environment, catalogue, web):
    make_rule(environment, global_capping=True, quantity=2)

    for _ in range(4):
        ask(web, make_contact(), count=10, store=True)

    assert {offer.code: offer.propositions.count() for offer in catalogue.values()} == {
        code: 2 for code in ALL_OFFERS
    }


def test_capping_rule_of_another_channel_does_not_cap_this_one(
    environment, catalogue, web, email
):
    """An email budget never removes offers from web calls, nor when storing."""
    make_rule(
        environment, "web-budget", global_capping=True, quantity=100, channel="web"
    )
    make_rule(
        environment, "email-budget", global_capping=True, quantity=1, channel="email"
    )
    record(catalogue["gold"], email, make_contact())

    result = ask(web, make_contact(), count=10, store=True)

    assert sorted(codes(result)) == ALL_OFFERS
    assert "gold" not in shown(email, make_contact())


def test_capping_rule_for_other_contacts_does_not_cap_this_one(
    environment, catalogue, web
):
    make_rule(
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
    make_rule(environment, "per-offer", quantity=1)
    make_rule(environment, "per-category", counted_offers="category", quantity=50)
    make_rule(
        environment, "everything", counted_offers="all", quantity=100, period_days=30
    )
    make_rule(
        environment,
        "accepted",
        counted_statuses="accepted",
        period_days=0,
        period_hours=2,
    )
    make_rule(environment, "budget", global_capping=True, quantity=1000)

    few = queries_of_one_call(environment, 20)
    many = queries_of_one_call(environment, 60)

    assert len(few) == len(many)
    # The contact, the counts its rules reach, and the used-up budgets: one
    # query.
    assert len(many) == 1
    assert "interaction_proposition" in many[0]
    assert "interaction_capusage" in many[0]


def test_a_call_under_a_global_cap_counts_no_proposition(environment, catalogue, web):
    """The budget is read from its counters (and taken when storing), never by
    counting the proposition table, whatever traffic it holds."""
    make_rule(environment, "budget", global_capping=True, quantity=1000)
    for _ in range(3):
        record(catalogue["gold"], web, make_contact())
    contact = make_contact()
    ask(web, contact, count=10)  # builds the snapshot
    used = sum(CapUsage.objects.values_list("used", flat=True))

    with CaptureQueriesContext(connection) as captured:
        result = ask(web, contact, count=10, store=True)

    statements = [query["sql"] for query in captured.captured_queries]
    assert sorted(codes(result)) == ALL_OFFERS
    reading, *storing = statements
    assert "interaction_capusage" in reading
    assert "interaction_proposition" not in reading
    if connection.vendor == "postgresql":
        # Taken and stored in one statement: the counters, then the rows.
        [statement] = storing
        assert statement.startswith('WITH taken AS (INSERT INTO "interaction_capusage"')
        assert 'INSERT INTO "interaction_proposition"' in statement
    else:
        taking, inserting = storing
        assert taking.startswith('INSERT INTO "interaction_capusage"')
        assert inserting.startswith('INSERT INTO "interaction_proposition"')
    # Nothing reads the proposition table, let alone counts it.
    assert not any('FROM "interaction_proposition"' in sql for sql in statements)
    stored = Proposition.objects.filter(contact_key=str(contact.pk))
    assert stored.count() == len(ALL_OFFERS)
    taken = sum(CapUsage.objects.values_list("used", flat=True)) - used
    assert taken == len(ALL_OFFERS)


def test_a_contact_and_its_history_come_in_one_query(
    environment, catalogue, web, contact
):
    make_rule(environment, quantity=1)
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
    make_rule(environment, quantity=1)
    record(catalogue["gold"], by_email, contact, when=NOW - HOUR)

    result = ask(by_email, contact=contact.email, count=10)

    assert result.identified
    assert sorted(codes(result)) == ["car-loan", "mortgage", "silver"]


# The counts the database returns, against the engine's own counting


TALLIES = (
    Tally(1, 3 * DAY, "offer", "", None, 2),
    Tally(2, 7 * DAY, "category", "web", frozenset({statuses.ACCEPTED}), 1),
    Tally(3, 30 * DAY, "all", "", None, 3),
    Tally(4, 2 * HOUR, "all", "email", frozenset({"proposed", "presented"}), 0),
    Tally(5, DAY, "offer", "", frozenset({"proposed", "rejected"}), 1),
    Tally(6, 10 * DAY, "category", "", None, 4),
)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_database_counts_as_the_engine_does(
    environment, catalogue, web, email, contact, seed
):
    """Every kind of tally (per offer, per category, everything; a channel;
    some statuses; a quantity of 0), counted by the single-contact readers
    (the history alone, and with the contact) and by a campaign chunk's,
    equals the engine's in-memory counting of the same
    propositions, future ones and another contact's among them."""
    rng = random.Random(seed)
    rows = []
    for _ in range(80):
        offer = rng.choice(list(catalogue.values()))
        space = rng.choice([web, email])
        status = rng.choice(
            [statuses.PROPOSED, statuses.PRESENTED, statuses.ACCEPTED, "rejected"]
        )
        when = NOW + rng.uniform(-40, 5) * DAY
        record(offer, space, contact, status=status, when=when)
        rows.append(
            HistoryRow(offer.id, offer.category_id, space.channel, status, when)
        )
    record(catalogue["gold"], web, make_contact(), when=NOW)
    request = HistoryRequest(NOW, TALLIES)
    expected = typology.count_rows(rows, NOW, TALLIES)
    assert expected, "the history reaches some tallies"

    read = DatabaseHistory().read(environment.id, str(contact.pk), False, request)
    directory = DatabaseDirectory({environment.id: (Contact, ("email",))})
    found = directory.find(environment.id, ("pk",), (str(contact.pk),), request)
    [chunk] = chunks.read_contacts(
        Contact, ("email",), Q(pk=contact.pk), environment.id, request
    )

    assert read.reached == expected
    assert found is not None and found.history is not None
    assert found.history.reached == expected
    assert chunk.history is not None and chunk.history.reached == expected

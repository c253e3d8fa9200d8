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


def test_a_visitor_over_an_all_offers_rule(anonymous_environment):
    """The visitor's history read as a call that traces nothing reads it (the
    all-offers rule decisive), and as a preview does."""
    category = make_category(anonymous_environment, "welcome")
    space = make_space(anonymous_environment, "visitor-banner", max_offers=10)
    offer = make_offer(category, "welcome-pack", spaces=[space])
    make_offer(category, "newsletter", spaces=[space])
    make_rule(anonymous_environment, counted_offers="all", quantity=2)
    for _ in range(3):
        record(offer, space, "visitor-1", visitor=True)
    record(offer, space, "visitor-2", visitor=True)

    for explain in (False, True):
        first = ask(space, visitor="visitor-1", count=10, explain=explain)
        second = ask(space, visitor="visitor-2", count=10, explain=explain)
        assert codes(first) == []
        assert sorted(codes(second)) == ["newsletter", "welcome-pack"]


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


# A decisive tally (a rule over every proposition, every offer and contact, in
# a call that traces no reasons): counted up to its quantity, the others only
# below it


DECIDED = (
    Tally(1, 7 * DAY, "offer", "", None, 1),
    Tally(2, 30 * DAY, "all", "web", frozenset({"proposed", "presented"}), 3, True),
    Tally(3, 3 * DAY, "category", "", None, 1),
)


def read_both_ways(environment, contact, request):
    """The contact's counts as the history reader and the contact directory
    (the same query with the contact) read them: both must agree."""
    read = DatabaseHistory().read(environment.id, str(contact.pk), False, request)
    directory = DatabaseDirectory({environment.id: (Contact, ("email",))})
    found = directory.find(environment.id, ("pk",), (str(contact.pk),), request)
    assert found is not None and found.history is not None
    assert found.history.reached == read.reached
    return read.reached


@pytest.mark.parametrize("counted", [0, 2, 3, 7])
def test_a_decisive_tally_is_counted_up_to_its_quantity(
    environment, catalogue, web, email, contact, counted
):
    """Below its quantity (3), every tally is counted as without it; at its
    quantity or beyond, it comes alone with the count of 3; propositions it
    does not count (another channel or status, outside its window) count for
    the other tallies, not for it."""
    offers = list(catalogue.values())
    for n in range(counted):
        record(offers[n % 4], web, contact, when=NOW - n * HOUR)
    record(catalogue["gold"], email, contact, when=NOW - HOUR)
    record(catalogue["silver"], web, contact, status="accepted", when=NOW - HOUR)
    record(catalogue["mortgage"], web, contact, when=NOW - 40 * DAY)
    rows = [
        HistoryRow(offer.id, offer.category_id, channel, status, when)
        for offer, channel, status, when in [
            *(
                (offers[n % 4], "web", "proposed", NOW - n * HOUR)
                for n in range(counted)
            ),
            (catalogue["gold"], "email", "proposed", NOW - HOUR),
            (catalogue["silver"], "web", "accepted", NOW - HOUR),
            (catalogue["mortgage"], "web", "proposed", NOW - 40 * DAY),
        ]
    ]
    exact = typology.count_rows(rows, NOW, DECIDED)

    reached = read_both_ways(environment, contact, HistoryRequest(NOW, DECIDED))

    if counted < 3:
        assert reached == exact
        assert (2, None) not in reached
    else:
        assert exact[(2, None)] == counted
        assert reached == {(2, None): 3}


def test_a_decisive_tally_of_a_quantity_of_zero(environment, catalogue, web, contact):
    """A quantity of 0: a count of nothing is never there, so the other
    tallies are counted; one proposition decides."""
    request = HistoryRequest(
        NOW,
        (
            Tally(1, DAY, "all", "", None, 0, True),
            Tally(2, 7 * DAY, "offer", "", None, 1),
        ),
    )
    record(catalogue["gold"], web, contact, when=NOW - 3 * DAY)

    assert read_both_ways(environment, contact, request) == {
        (2, catalogue["gold"].id): 1
    }

    record(catalogue["silver"], web, contact, when=NOW - HOUR)

    assert read_both_ways(environment, contact, request) == {(1, None): 1}


def test_a_contact_over_an_all_offers_rule_is_proposed_nothing_and_told_why(
    environment, catalogue, web, contact
):
    """The call that proposes reads the all-offers rule as decisive and gets
    nothing; the explained call (a preview) counts everything and traces the
    same reasons as ever: the first rule that excludes each offer, with its
    whole count."""
    # Rules apply in the order of their codes: the same offer's first.
    make_rule(environment, "a-same-offer", counted_offers="offer", quantity=2)
    make_rule(environment, "b-all-offers", counted_offers="all", quantity=3)
    for n in range(5):
        offer = catalogue["gold" if n < 2 else "mortgage"]
        record(offer, web, contact, when=NOW - n * HOUR)
    for n in range(3):
        record(catalogue["car-loan"], web, contact, when=NOW - (10 + n) * HOUR)

    assert codes(ask(web, contact, count=10, explain=False)) == []
    explained = ask(web, contact, count=10)

    assert codes(explained) == []
    assert dropped(explained) == {
        "gold": "typology rule “a-same-offer”: 2 propositions counted in the "
        "period, 2 allowed",
        "mortgage": "typology rule “a-same-offer”: 3 propositions counted in the "
        "period, 2 allowed",
        "car-loan": "typology rule “a-same-offer”: 3 propositions counted in the "
        "period, 2 allowed",
        "silver": "typology rule “b-all-offers”: 8 propositions counted in the "
        "period, 3 allowed",
    }


def test_an_all_offers_rule_with_a_contact_condition_is_not_decisive(
    environment, catalogue, web, contact
):
    """The rule's condition is only known once the contact is read, so its
    tally cannot decide in the query: every tally is counted, and a contact
    outside the condition is excluded by the other rules only."""
    make_rule(environment, "same-offer", counted_offers="offer", quantity=1)
    make_rule(
        environment,
        "all-offers",
        counted_offers="all",
        quantity=2,
        contact_condition={"field": "country", "op": "=", "value": "DE"},
    )
    record(catalogue["gold"], web, contact, when=NOW - HOUR)
    record(catalogue["silver"], web, contact, when=NOW - 2 * HOUR)

    assert shown(web, contact, explain=False) == ["car-loan", "mortgage"]
